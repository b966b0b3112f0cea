/** A node's lease on Redis's clock: a node silent this long is dead (its users announced left). */
export const LEASE_MS = 5000;
/** How often each node renews its lease, and reaps the dead. */
export const BEAT_INTERVAL_MS = 1000;
/** No node beat for this long: Redis (or everyone) stalled; leases get a grace period instead of being reaped. */
export const STALL_MS = 3000;
/** The stream keeps about this many events (MAXLEN ~): the history is read from it at start. */
export const STREAM_MAXLEN = 20_000;
/**
 * A daemon whose reader fell further behind than STREAM_MAXLEN misses what the trim took: its
 * users are told, and the log says how many, at most this often.
 */
export const STREAM_GAP_NOTICE_MS = 30_000;
/** A member's last activity is written to Redis at most this often (for /whois's idle time on other daemons). */
export const ACTIVITY_WRITE_MS = 5000;
/**
 * A stream read returns at least every second (BLOCK 1000); one that has not for this long is
 * stuck on a connection that silently stopped, and the reader gets a new connection.
 */
export const READER_STUCK_MS = 10_000;
/** History lines a session is shown when it signs in, as on one daemon. */
export const JOIN_REPLAY = 20;

/** The cluster's log: the primary's, with its levels. */
export type ClusterLog = (
  level: "info" | "debug" | "warn" | "error",
  msg: string,
  meta?: Record<string, unknown>,
) => void;
