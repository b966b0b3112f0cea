import { BackendFault } from "../backend-fault.ts";

/**
 * The faults of the cluster's Redis an operator must expect, each one sentence for tsctl and a
 * short reason for the log (docs/cluster.md lists them). RedisLink turns what the client library
 * throws into these; anything else (a script's bug, a wrong type) stays a programming error.
 */
export class RedisFault extends BackendFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisFault";
  }
}

/** Redis cannot be reached: down, refusing connections, the connection closed or cut, TLS refused. */
export class RedisUnreachable extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisUnreachable";
  }
}

/** Redis answers but refuses writes: OOM (maxmemory with noeviction), READONLY (a replica), MISCONF, NOREPLICAS. */
export class RedisRefusesWrites extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisRefusesWrites";
  }
}

/** Redis answers but serves nobody for now: LOADING its data, BUSY with a script, MASTERDOWN. */
export class RedisNotServing extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisNotServing";
  }
}

/** Redis refuses tsd itself: a wrong password or user (WRONGPASS), none given (NOAUTH), an ACL without a permission (NOPERM). */
export class RedisRefusesTsd extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisRefusesTsd";
  }
}

/** What answers at the URL is not Redis (an HTTP server, another service on that port): waiting will not help. */
export class RedisNotRedis extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisNotRedis";
  }
}

/** A command got no answer in time (the client's own timeout). */
export class RedisTimedOut extends RedisFault {
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, reason, options);
    this.name = "RedisTimedOut";
  }
}

type ReplyFault = [kind: "writes" | "serving" | "tsd", reason: string];

/** A Redis reply error's code (its first word), as the fault it is, with its reason. */
const REPLY_FAULTS: Record<string, ReplyFault> = {
  OOM: ["writes", "out of memory (maxmemory)"],
  READONLY: ["writes", "it is a read-only replica (READONLY)"],
  MISCONF: ["writes", "it cannot save to disk (MISCONF)"],
  NOREPLICAS: ["writes", "too few replicas answer it (NOREPLICAS)"],
  LOADING: ["serving", "it is loading its data (LOADING)"],
  BUSY: ["serving", "it is busy running a script (BUSY)"],
  MASTERDOWN: ["serving", "its link to its primary is down (MASTERDOWN)"],
  UNBLOCKED: ["serving", "it changed its role (UNBLOCKED)"],
  WRONGPASS: ["tsd", "wrong password or user name (WRONGPASS)"],
  NOAUTH: ["tsd", "it needs a password and the URL gives none (NOAUTH)"],
  NOPERM: ["tsd", "its ACL user lacks a permission tsd needs (NOPERM)"],
  MOVED: ["tsd", "it is a Redis Cluster node; tsd needs one Redis (MOVED)"],
  ASK: ["tsd", "it is a Redis Cluster node; tsd needs one Redis (ASK)"],
  CROSSSLOT: ["tsd", "it is a Redis Cluster node; tsd needs one Redis (CROSSSLOT)"],
};

/** Faults Redis answers with its generic code ERR, told by their text. */
const ERR_FAULTS: [text: RegExp, fault: ReplyFault][] = [
  [/^ERR max number of clients reached/, ["serving", "it has as many clients as it takes (maxclients)"]],
  [
    /^ERR DB index is out of range/,
    ["tsd", "the database number in the URL is beyond its `databases` (redis://host:port/N)"],
  ],
  [
    /^ERR unknown command '(zscore|eval|evalsha|xadd|xread|hget|script)'/i,
    ["tsd", "it does not run tsd's commands (a Sentinel? give the URL of the Redis it watches)"],
  ],
];

/** The client library's classes of a Redis reply error. */
const REPLY_ERRORS = new Set(["ErrorReply", "SimpleError", "BlobError"]);

/** The fault a Redis reply error's text names, if any. */
function replyFault(message: string): ReplyFault | undefined {
  return REPLY_FAULTS[replyCode(message)] ?? ERR_FAULTS.find(([text]) => text.test(message))?.[1];
}

/** Why a connection failed, in words, from a socket error's code or the client library's error. */
const CONNECTION_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name not found (DNS)",
  ERR_TLS_CERT_ALTNAME_INVALID: "its TLS certificate does not name this host",
  ERR_SSL_WRONG_VERSION_NUMBER: "it does not speak TLS on this port (use redis://, or its TLS port)",
  DEPTH_ZERO_SELF_SIGNED_CERT:
    "its TLS certificate is not trusted (self-signed; give its CA with NODE_EXTRA_CA_CERTS)",
  SELF_SIGNED_CERT_IN_CHAIN:
    "its TLS certificate is not trusted (unknown CA; give the CA with NODE_EXTRA_CA_CERTS)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "its TLS certificate is not trusted (unknown CA; give the CA with NODE_EXTRA_CA_CERTS)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "its TLS certificate is not trusted (unknown CA; give the CA with NODE_EXTRA_CA_CERTS)",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  CERT_NOT_YET_VALID: "its TLS certificate is not valid yet",
};

/** The client library's errors without a code, by class name. */
const LIBRARY_REASONS: Record<string, string> = {
  ConnectionTimeoutError: "connection timed out",
  SocketClosedUnexpectedlyError: "connection closed",
  ClientOfflineError: "not connected",
  ClientClosedError: "not connected",
  DisconnectsClientError: "not connected",
};

const TIMEOUTS = new Set(["TimeoutError", "SocketTimeoutError", "CommandTimeoutDuringMaintenanceError"]);

/** The client library's reply parser met bytes no Redis sends: the server at the URL is something else. */
export function isNotRedisProtocol(error: unknown): boolean {
  return error instanceof Error && /^Unknown RESP type\b/.test(error.message);
}

const NOT_REDIS = "it does not speak the Redis protocol (is that port a Redis server's?)";

/** A reply error's code: its first word when that is upper case (OOM, READONLY, WRONGPASS). */
function replyCode(message: string): string {
  return /^([A-Z]+)\b/.exec(message)?.[1] ?? "";
}

/** A connection failure in words: the error's own code or class, else what the last connection attempt met. */
export function connectionReason(error: unknown, lastConnectionError?: unknown): string {
  for (const candidate of [error, lastConnectionError]) {
    if (!(candidate instanceof Error)) continue;
    if (isNotRedisProtocol(candidate)) return NOT_REDIS;
    // Redis refused the connection's own set-up (AUTH, SELECT, HELLO): its reason, not "not connected".
    const refused = REPLY_ERRORS.has(candidate.constructor.name) ? replyFault(candidate.message) : undefined;
    if (refused) return refused[1];
    const code = (candidate as NodeJS.ErrnoException).code;
    if (code && Object.hasOwn(CONNECTION_REASONS, code)) return CONNECTION_REASONS[code]!;
    if (code) return code.toLowerCase().replaceAll("_", " ");
    const name = candidate.constructor.name;
    if (Object.hasOwn(LIBRARY_REASONS, name) && LIBRARY_REASONS[name] !== "not connected")
      return LIBRARY_REASONS[name]!;
  }
  return "not connected";
}

export interface FaultContext {
  /** The URL without its password. */
  url: string;
  /** Whether the error is a Redis reply error (the client library's ErrorReply), not a client-side one. */
  isReply: boolean;
  /** What the last connection attempt met, for a command refused because the client is offline. */
  lastConnectionError?: unknown;
}

/**
 * The fault an error of the client library is, or null when it is none of them (a programming
 * error: it stays as it is, with its stack). The message is one sentence naming the cluster's
 * Redis, never the library's text.
 */
export function redisFault(error: unknown, context: FaultContext): RedisFault | null {
  if (error instanceof RedisFault) return error;
  if (!(error instanceof Error)) return null;
  if (context.isReply) {
    const fault = replyFault(error.message);
    if (!fault) return null;
    const [kind, reason] = fault;
    if (kind === "writes")
      return new RedisRefusesWrites(`the cluster's Redis refuses writes: ${reason}`, reason, {
        cause: error,
      });
    if (kind === "serving")
      return new RedisNotServing(`the cluster's Redis is not serving now: ${reason}`, reason, {
        cause: error,
      });
    return new RedisRefusesTsd(`the cluster's Redis (${context.url}) refuses tsd: ${reason}`, reason, {
      cause: error,
    });
  }
  if (isNotRedisProtocol(error))
    return new RedisNotRedis(`the server at ${context.url} does not speak the Redis protocol`, NOT_REDIS, {
      cause: error,
    });
  const name = error.constructor.name;
  if (TIMEOUTS.has(name))
    return new RedisTimedOut(
      `the cluster's Redis (${context.url}) did not answer in time`,
      "no answer in time",
      {
        cause: error,
      },
    );
  const code = (error as NodeJS.ErrnoException).code;
  if (!Object.hasOwn(LIBRARY_REASONS, name) && !(code && /^E[A-Z]+$|CERT|TLS|SSL/.test(code))) return null;
  const reason = connectionReason(error, context.lastConnectionError);
  return new RedisUnreachable(`the cluster's Redis cannot be reached (${context.url}): ${reason}`, reason, {
    cause: error,
  });
}

/**
 * Failures that prove the command never ran: Redis answered with an error (its reply errors, and
 * the faults made of them), or the client never sent it (offline, closed). Anything else (the
 * connection closed or reset after the command went out, a timeout) may have run on Redis.
 */
const NEVER_RAN = new Set([
  "ErrorReply",
  "SimpleError",
  "BlobError",
  "ClientOfflineError",
  "ClientClosedError",
  "RedisRefusesWrites",
  "RedisNotServing",
  "RedisRefusesTsd",
]);

/** Whether a failed command may still have run on Redis (its answer lost with the connection). */
export function mayHaveRun(error: unknown): boolean {
  let link: unknown = error;
  for (let depth = 0; depth < 5 && link instanceof Error; depth++) {
    if (NEVER_RAN.has(link.constructor.name)) return false;
    // RedisLink's own refusal when it holds no client: nothing was sent.
    if (link.cause === undefined && /not connected/.test(link.message)) return false;
    link = link.cause;
  }
  return true;
}
