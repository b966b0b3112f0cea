/**
 * The messages between session threads (and worker processes) and the hub in the primary.
 * Both ends import these types; each side dispatches through a table keyed by `k`. A request
 * carries a `seq` and is answered by a Reply with that seq, whose body is the kind's type in
 * HubReplies, or an ErrorReply when the hub could not answer.
 * Framing: one JSON text per line on the hub socket (see ndjson.ts), or a structured clone
 * on the cluster IPC channel.
 */

import type { AccountReply, AccountRequest } from "./account-messages.ts";
import type { AddressBanRule } from "./ban-target.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";

/** chat-tls: the chat service over TLS, served by the same session threads (--tls-port). */
export type ServiceName = "chat" | "echo" | "chat-tls";

/** Thread -> hub: the first message on a new link. */
export interface Hello {
  k: "hello";
  worker: number;
  thread: number;
}

/** Thread -> hub: the outcome of one listen attempt. */
export interface Listening {
  k: "listening";
  service: ServiceName;
  port: number;
  ok: boolean;
  error?: string;
}

/** Thread -> hub: the thread's current session counts (sent when they change, coalesced). */
export interface Stats {
  k: "stats";
  /** Chat sessions over plain TCP (those over TLS are counted in tls). */
  chat: number;
  echo: number;
  /** Chat connections over TLS, the handshaking ones included. */
  tls?: number;
}

/** Any side -> primary: one log record, logged by the primary's one logger. */
export interface LogRecord {
  k: "log";
  level: LogLevel;
  msg: string;
  meta?: Record<string, unknown>;
}

/** Thread -> hub: may a new connection from this address be served? (the per-address cap). Reply: AdmitReply. */
export interface Admit {
  k: "admit";
  seq: number;
  address: string;
}

/** Thread -> hub: a connection admitted earlier has closed. */
export interface Release {
  k: "release";
  address: string;
}

/**
 * Thread -> hub: how long must this account+address wait before its next password check?
 * lastAddress is where the identity file says the account last signed in (never slowed by
 * other addresses' failures). Reply: ThrottleReply.
 */
export interface Throttle {
  k: "throttle";
  seq: number;
  key: string;
  address: string;
  lastAddress: string | null;
}

/**
 * Thread -> hub: a wrong password for this account from this address (the delay grows). With a
 * seq the hub replies (OkReply) once the failure counts, so the user hears "wrong password" only
 * then: in a cluster the next guess, on any daemon, already waits for it.
 */
export interface Failed {
  k: "failed";
  seq?: number;
  key: string;
  address: string;
}

/**
 * Thread -> hub: may this address make an account now? `spend` once the passwords are in, right
 * before the account is written; without it the hub only looks (to refuse before the passwords
 * are typed). Reply: RegistrationReply.
 */
export interface Registration {
  k: "registration";
  seq: number;
  address: string;
  spend: boolean;
}

/** Thread -> hub: hold a new name for this session while it registers; refused if the name is online or held. Reply: OkReply. */
export interface Reserve {
  k: "reserve";
  seq: number;
  sid: string;
  key: string;
}

/** Thread -> hub: a session signed in (taking over any older session of the same user). Reply: JoinReply. */
export interface Join {
  k: "join";
  seq: number;
  sid: string;
  key: string;
  name: string;
  address: string;
}

/**
 * Thread -> hub: a session ended (a signed-in one is announced as left; a reservation is dropped).
 * With a seq the hub replies (OkReply) once the user is offline for everyone: a session that
 * ends on purpose (/quit) says its last line only then.
 */
export interface Leave {
  k: "leave";
  seq?: number;
  sid: string;
  reason?: string;
}

/** Thread -> hub: a chat line from a signed-in session. */
export interface Say {
  k: "say";
  sid: string;
  text: string;
}

/** Thread -> hub: a /me action. */
export interface Act {
  k: "act";
  sid: string;
  text: string;
}

/** Thread -> hub: a private message. Reply: MsgReply. */
export interface Msg {
  k: "msg";
  seq: number;
  sid: string;
  to: string;
  text: string;
}

/** Thread -> hub: mark a session away with text, or back (null). Reply: AwayReply. */
export interface Away {
  k: "away";
  seq: number;
  sid: string;
  text: string | null;
}

/** Thread -> hub: is the account of this key online, since when, how idle, away? Reply: WhoisReply. */
export interface Whois {
  k: "whois";
  seq: number;
  key: string;
}

/** Thread -> hub: who is online. Reply: WhoReply. */
export interface Who {
  k: "who";
  seq: number;
}

/** Thread -> hub: the newest n history records. Reply: HistoryReply. */
export interface HistoryRequest {
  k: "history";
  seq: number;
  n: number;
}

/** Thread -> hub: the answer to a Ping, proof that the thread's event loop runs. */
export interface Pong {
  k: "pong";
}

/** A session thread's counters since it started; each only grows (metrics). */
export interface ThreadCounters {
  /** Chat lines (say, /me, /msg) taken from signed-in users and handed to the hub. */
  messagesIn: number;
  /** Hub lines (chat, /me, private, joined, left, announcements) written to signed-in sessions, one per recipient. */
  messagesOut: number;
  /** Bytes read from and written to chat connections. */
  bytesIn: number;
  bytesOut: number;
  signIns: number;
  signInFailures: number;
  registrations: number;
  floodDrops: number;
  outputLimitDisconnects: number;
}

/** How late the thread's event loop ran its timers over the last interval, in ms. */
export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Thread -> hub: its counters and event-loop lag, sent each interval, and at once in answer to a
 * MetricsRequest (with its seq), so a `metrics` call counts everything done before it.
 */
export interface ThreadMetrics {
  k: "metrics";
  seq?: number;
  counters: ThreadCounters;
  lag: EventLoopLag;
}

/** Thread -> hub: about the link itself (who is on it, its listeners, its counts, its logs). */
export type LinkMessage = Hello | Pong | Listening | Stats | LogRecord | ThreadMetrics;

/** Thread -> hub: chat events that need no answer. */
export type ChatNotice = Release | Say | Act;

/** Thread -> hub: the messages that expect a Reply with the same seq, by kind. */
export interface HubRequests {
  admit: Admit;
  throttle: Throttle;
  registration: Registration;
  reserve: Reserve;
  join: Join;
  leave: Leave;
  msg: Msg;
  who: Who;
  history: HistoryRequest;
  away: Away;
  whois: Whois;
  account: AccountRequest;
  failed: Failed;
}

/** The answer to each kind of request: `hub.request({ k: "who" })` is a WhoReply. */
export interface HubReplies {
  admit: AdmitReply;
  throttle: ThrottleReply;
  registration: RegistrationReply;
  reserve: ReserveReply;
  join: JoinReply;
  leave: OkReply;
  msg: MsgReply;
  who: WhoReply;
  history: HistoryReply;
  away: AwayReply;
  whois: WhoisReply;
  account: AccountReply;
  failed: OkReply;
}

export type HubRequestKind = keyof HubRequests;
export type HubRequest = HubRequests[HubRequestKind];
/** (Fails to compile if a request kind has no reply type.) */
export type HubReply = HubReplies[HubRequestKind];

export type ThreadToHub = LinkMessage | ChatNotice | HubRequest;

export interface HistoryEntry {
  time: number;
  name: string;
  text: string;
  /** A /me action: replayed as `[time] * name text`. */
  action?: boolean;
}

export interface AdmitReply {
  ok: boolean;
}
/** Wait delayMs before checking; with retryAfterMs, do not check at all: refuse, try later. */
export interface ThrottleReply {
  delayMs: number;
  retryAfterMs?: number;
}
/** ok: the address may register (and, if asked to spend, has spent one); else it may in retryAfterMs. */
export interface RegistrationReply {
  ok: boolean;
  retryAfterMs: number;
}
export interface OkReply {
  ok: boolean;
}
/** refused: the name is banned; the line to send before the connection is closed. */
export interface ReserveReply extends OkReply {
  refused?: string;
}
/**
 * History in a reply is bounded in bytes (HISTORY_REPLY_BYTES); `omitted` older records did not
 * fit. `motd`: the message of the day, sanitised lines.
 */
export interface JoinReply {
  /**
   * The `* N online: ...` line as the user is sent it (onlineLine: /who's order, away users
   * marked, CR LF): one ready string, not a list of names, so that at 10,000 online a sign-in
   * costs its thread one string to read and nothing to format; empty when refused.
   */
  online: string;
  history: HistoryEntry[];
  omitted: number;
  motd: string[];
  /** The sign-in is refused (a ban on the name or the address): the line to send before closing; the rest is empty. */
  refused?: string;
}
/** ok: delivered to `name`; `away`: that user's away text, told to the sender. */
export interface MsgReply {
  ok: boolean;
  /** Not sent, and why, as the line for the sender (a muted sender). */
  refused?: string;
  name?: string;
  away?: string;
}
/** `away`: those of `names` who are away. */
export interface WhoReply {
  names: string[];
  away: string[];
  /** Not known now, and why, as the line for the asker (a cluster whose Redis cannot answer). */
  refused?: string;
}
/** The session's away text before this request (null: it was not away). */
export interface AwayReply {
  was: string | null;
  /** Not changed, and why, as the line for the session (a cluster whose Redis cannot take it). */
  refused?: string;
}
/** A signed-in account as /whois shows it; times in ms since the epoch. */
export interface WhoisOnline {
  name: string;
  since: number;
  /** When the user last said, did or sent anything (or signed in). */
  lastActive: number;
  away: string | null;
}
/** online: null when the account is not signed in. */
export interface WhoisReply {
  online: WhoisOnline | null;
}
export interface HistoryReply {
  records: HistoryEntry[];
  omitted: number;
}

/** The request failed: its handler threw, or its answer would not fit the link. */
export interface ErrorReply {
  error: string;
}

/** Hub -> thread: the answer to a request, by seq. */
export interface Reply {
  k: "reply";
  seq: number;
  body: HubReply | ErrorReply;
}

/** A line's author, for the sessions that ignore them (/ignore is applied where lines are delivered). */
export interface Author {
  /** The author's account key (case-folded name). */
  key: string;
  name: string;
}

/**
 * Hub -> thread: one line for every signed-in session of the thread except `except`; `from`:
 * a user's line (chat, /me), hidden from the sessions that ignore its author.
 */
export interface Deliver {
  k: "deliver";
  line: string;
  except: string | null;
  from?: string;
}

/** Hub -> thread: one line for one session; `from`: a private message's sender (for /ignore and /reply). */
export interface Direct {
  k: "direct";
  sid: string;
  line: string;
  from?: Author;
}

/** Hub -> thread: send this session its last line and close it (takeover, kick). */
export interface Drop {
  k: "drop";
  sid: string;
  line: string;
  reason: string;
}

/** The ports a thread listens on; 0 asks the kernel for one (only the first thread, see primary). */
export type ListenPorts = Partial<Record<ServiceName, number>>;

/** Hub -> thread: the answer to hello; `ports` is null while another thread is still picking the port. */
export interface Welcome {
  k: "welcome";
  paused: boolean;
  ports: ListenPorts | null;
}

/** A TLS certificate (chain) and its private key, as PEM text, checked by the primary before it is sent. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/**
 * Hub -> thread: the certificate to serve: right before the welcome (so before the thread
 * listens), and again after each reload; new handshakes use it, sessions already open go on.
 */
export interface TlsRenew {
  k: "tls";
  material: TlsMaterial;
}

/** Hub -> thread: open (on, on these ports) or close every listener. */
export interface Listen {
  k: "listen";
  on: boolean;
  ports?: ListenPorts;
}

/** Hub -> thread: answer with a Pong; a thread that stops answering is restarted. */
export interface Ping {
  k: "ping";
}

/** Hub -> thread: stop accepting, tell the clients, close them within graceMs. */
export interface Shutdown {
  k: "shutdown";
  graceMs: number;
}

/** Hub -> thread: throw an uncaught error, or block the event loop (debug-only fault injection, --debug-faults). */
export interface Crash {
  k: "crash";
  mode?: "throw" | "freeze";
}

/**
 * Hub -> thread: the settings that change while the daemon runs (config.set, reload), sent to
 * every thread on each change and to each thread before its welcome, so a thread started later
 * (a restart after a crash) runs with the values in force, not those it was forked with.
 */
export interface Settings {
  k: "settings";
  limits: LiveLimits;
}

/** Hub -> thread: send a ThreadMetrics now, with this seq. */
export interface MetricsRequest {
  k: "metrics";
  seq: number;
}

/**
 * Hub -> thread: the address bans in force, sent before a thread's welcome and again on every
 * change, so a thread refuses a banned address as it connects, without asking the hub.
 */
export interface AddressBans {
  k: "bans";
  rules: AddressBanRule[];
}

/** Hub -> thread: what the thread itself acts on (the link answers pings and settles replies). */
export type HubCommand =
  | Welcome
  | Listen
  | Shutdown
  | Deliver
  | Direct
  | Drop
  | Crash
  | AddressBans
  | TlsRenew
  | MetricsRequest
  | Settings;

export type HubToThread = HubCommand | Reply | Ping;

/** Worker process -> thread's supervisor: restart this thread (its hub found it unresponsive). */
export interface RestartThread {
  k: "restart-thread";
  thread: number;
}

/**
 * The longest message either end of a hub link accepts. The biggest messages are one chat line
 * (at most maxLine input bytes, each at worst 3 UTF-8 bytes once decoded and 2 once escaped in
 * JSON) and a bounded history reply, so a well-formed message always fits.
 */
export function hubLineLimit(maxLine: number): number {
  return Math.max(4 << 20, 8 * maxLine + (64 << 10));
}

/** The history sent in one reply (sign-in replay or /history) is at most this many bytes of text. */
export const HISTORY_REPLY_BYTES = 256 << 10;

/** Worker process -> primary over cluster IPC. */
export type ProcessToPrimary = LogRecord;

/** What a worker process needs to run its threads; passed in its environment as JSON. */
export interface ServiceConfig {
  host: string;
  chatPort: number | null;
  echoPort: number | null;
  threads: number;
  hubPath: string;
  maxLine: number;
  loginTimeoutSeconds: number;
  maxPerAddress: number;
  floodBurst: number;
  floodRate: number;
  /** Lines beyond the burst that wait their turn (--flood-queue). */
  floodQueue: number;
  outputLimit: number;
  stateDir: string;
  /** Threads drop records below this level before they cross to the primary. */
  logLevel: LogLevel;
  /** Names nobody may register besides `server` (--reserved-names). */
  reservedNames: string[];
  /** The chat service over TLS (--tls-port; 0: picked as the others), null when TLS is off. */
  tlsPort: number | null;
  /** redis: the accounts are the cluster's, asked of the hub (cluster.md); absent: identities.json. */
  hub?: "embedded" | "redis";
}

/** The part of ServiceConfig that config.set and reload change while threads run (a Settings message). */
export type LiveLimits = Pick<
  ServiceConfig,
  | "maxLine"
  | "loginTimeoutSeconds"
  | "maxPerAddress"
  | "floodBurst"
  | "floodRate"
  | "floodQueue"
  | "outputLimit"
  | "logLevel"
>;

export const WORKER_CONFIG_ENV = "TSD_WORKER_CONFIG";

/** The data a session thread is started with (its workerData). */
export interface ThreadData {
  config: ServiceConfig;
  worker: number;
  thread: number;
}
