/**
 * The daemon's limits and timings, in one place: each is named where it is enforced, and
 * the options (--max-line, --output-limit, ...) are in primary/options.ts. Contract limits that
 * both ends share (line length, history size, the control socket's bounds) are in protocol/.
 */

// Session threads and their sessions

/**
 * The largest --max-line (bytes); the hub links are sized for it (hubLineLimit), so config.set
 * can raise --max-line while they are up.
 */
export const MAX_LINE_CEILING = 1 << 20;

/** Wrong passwords in one connection before it is closed (chat-protocol.md). */
export const MAX_SIGN_IN_FAILURES = 3;

/** Lines waiting while an earlier one is still being handled (hashing, a hub round trip); past this, reading pauses. */
export const MAX_QUEUED_LINES = 32;

/**
 * Bytes of a signed-in user's lines waiting for their flood token, whatever --flood-queue allows
 * in lines: 100 lines of the 4096-byte maximum fit, and a session being queued is not read
 * (docs/reliability.md), so neither the queue nor the socket buffers grow past it.
 */
export const FLOOD_QUEUE_MAX_BYTES = 512 * 1024;

/** A closed session whose client does not close its end is destroyed after this long. */
export const SESSION_CLOSE_GRACE_MS = 2000;

/** A request the hub has not answered within this long means the link is broken. */
export const HUB_REQUEST_TIMEOUT_MS = 30_000;

/** How often a thread looks at its oldest unanswered hub request. */
export const HUB_REQUEST_CHECK_MS = 1000;

/** Descriptors a process keeps for itself: files, pipes, the hub links, Node's own. */
export const RESERVED_DESCRIPTORS = 128;

/**
 * A session thread's young generation, in MiB. V8 grows it to tens of MiB per isolate under a
 * burst of short-lived objects (a sign-in storm's join notices) and RSS never gives it back.
 * Capped at 8 MiB, 3,000 signed-in sessions grew a worker by ~70 MiB instead of ~180 MiB, with
 * the same fan-out throughput (docs/performance.md).
 */
export const YOUNG_GENERATION_MB = 8;

/**
 * A storm of joins (or of leaves): more than STORM_NOTICES in STORM_WINDOW_MS. Past it the hub
 * combines those notices into one line per STORM_WINDOW_MS (`* 14 joined: ...`, chat-protocol.md),
 * instead of one line per sign-in to everyone online: 10,000 sign-ins were 50 million lines.
 */
export const STORM_NOTICES = 10;
export const STORM_WINDOW_MS = 1000;

/**
 * glibc's malloc settings in each worker process (the environment given to it, unless the operator
 * set them). By default every thread gets arenas of its own and blocks up to 32 MiB come from them;
 * a sign-in storm's writes (each new user's online list: 70 KB at 10,000 online) left them full of
 * holes that stay resident: 25 KiB per idle session at 10,000. With two arenas, and blocks of
 * 32 KiB and up given their own mappings (returned when freed), that was 1 KiB
 * (scripts/heap-profile.ts, docs/performance.md).
 */
export const WORKER_MALLOC_ENV = { MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "32768" } as const;

/**
 * After a storm of at least `events` sign-ins (or changes of who is online) followed by `quietMs`
 * without one and with the event loop busy less than `idleUtilization` of the time, each session
 * thread and the primary run one full garbage collection (shared/storm-gc.ts), checked every
 * `checkMs`.
 */
export const STORM_GC = { events: 500, quietMs: 2000, checkMs: 500, idleUtilization: 0.1 } as const;

/** The shortest password accepted, in characters (code points). */
export const MIN_PASSWORD_LENGTH = 4;

// The primary

/** Every listener must be bound within this long of start, or the daemon exits 1. */
export const STARTUP_TIMEOUT_MS = 30_000;

/** What clients get to go on a stop (SIGTERM, `tsctl stop` without --grace). */
export const DEFAULT_GRACE_MS = 5000;

/** How long past the grace a stopping worker has to exit before it is killed. */
export const STOP_MARGIN_MS = 3000;

/** Unread `logs -f` output held for one follower before it is cut off. */
export const MAX_FOLLOW_BACKLOG = 4 << 20;

/** The status text systemd shows (STATUS=) changes at most this often. */
export const STATUS_INTERVAL_MS = 1000;

/** How often each session thread sends the hub its counters and rolls its event-loop lag window. */
export const METRICS_INTERVAL_MS = 1000;

/** How long a `metrics` request waits for the threads' fresh counters before it uses their last reports. */
export const METRICS_ANSWER_TIMEOUT_MS = 1000;

/** How often the hub pings each thread (a silent thread is restarted after --thread-timeout). */
export const PING_INTERVAL_MS = 2000;

/** The longest grace a `stop` may ask for. */
export const MAX_GRACE_MS = 10 * 60_000;

/** The most lines one `logs.tail` may ask for (its answer is also bounded in bytes). */
export const MAX_TAIL_LINES = 100_000;

/** The longest announcement or kick reason, in characters. */
export const MAX_ANNOUNCE_TEXT = 4096;

/** Answers a client has not taken yet past which its next request waits (backpressure). */
export const CONTROL_MAX_BACKLOG = 1 << 20;

/** Request lines read and not yet answered past which a client's socket is no longer read. */
export const CONTROL_MAX_QUEUED = 64;

/** Unread output past which a control client is disconnected (notifications have no backpressure). */
export const CONTROL_MAX_UNREAD = 16 << 20;

/** An error's message is cut to this in an answer: a thrown value is not allowed to make the answer big. */
export const CONTROL_MAX_ERROR_MESSAGE = 1000;

/** Records queued for a file that cannot keep up are dropped past this, so logging never grows memory without bound. */
export const LOG_MAX_PENDING_BYTES = 16 << 20;

/** After a failed compaction, wait this long before trying again (appends go on meanwhile). */
export const HISTORY_COMPACT_RETRY_MS = 5000;

/** Queued-but-unwritten text beyond this means the disk is stuck: trim the backlog (see trimBacklog). */
export const HISTORY_MIN_BACKLOG_CHARS = 32 * 1024 * 1024;

/** Retries of failed writes: doubling from the first to the last delay; every append also retries. */
export const HISTORY_RETRY_FIRST_MS = 100;

export const HISTORY_RETRY_MAX_MS = 5000;

/** How long a holder has to say its pid. */
export const STATE_LOCK_ANSWER_TIMEOUT_MS = 2000;

/** How long sign-ins are collected before they are written to the file together. */
export const LOGIN_BATCH_MS = 1000;

// Restarts: first delay, the cap it doubles to, and how long a run must last to reset it

export const WORKER_RESTART = { firstMs: 250, maxMs: 10_000, resetAfterMs: 30_000 } as const;
export const THREAD_RESTART = { firstMs: 100, maxMs: 5000, resetAfterMs: 30_000 } as const;

/** Names one account may /ignore: a bounded list in the account, and a bounded filter per session. */
export const MAX_IGNORES = 100;

/** The message of the day (--motd): bytes read from the file, and lines shown; the rest is cut and logged. */
export const MOTD_MAX_BYTES = 4096;
export const MOTD_MAX_LINES = 20;

/**
 * Bans and mutes the daemon holds (moderation.json): a control client cannot grow the primary's
 * memory, the file or the list pushed to every thread without bound. Past it, bans.add and
 * users.mute are refused until some are removed or expire.
 */
export const MAX_BANS = 10_000;
export const MAX_MUTES = 10_000;

/**
 * The longest ban reason, in characters (sanitised: no control characters). It is shown on one
 * line, and it bounds what the hub sends every thread: 10,000 address bans with such reasons
 * stay well under the hub link's message limit (protocol/hub-messages.ts, hubLineLimit).
 */
export const MAX_BAN_REASON = 100;

/** The longest a timed ban or mute may last (ten years); longer is what a permanent one is for. */
export const MAX_MODERATION_SECONDS = 10 * 365 * 24 * 3600;
