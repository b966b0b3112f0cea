import {
  ClientOfflineError,
  ConnectionTimeoutError,
  SimpleError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from "@redis/client";
import test from "ava";
import {
  RedisNotServing,
  RedisRefusesTsd,
  RedisRefusesWrites,
  RedisTimedOut,
  RedisUnreachable,
  redisFault,
} from "../../daemon/primary/cluster/redis-faults.ts";

/**
 * Each error the client library gives for a fault an operator must expect is told as one
 * sentence (docs/cluster.md lists them), with none of the library's or Redis's words; the
 * errors that are bugs (a wrong type, a script's error) stay as they are. Pure: the library's own
 * error classes with Redis's own reply texts.
 */
const URL = "redis://:***@10.0.0.5:6379";
const reply = (text: string) => redisFault(new SimpleError(text), { url: URL, isReply: true });
const errno = (code: string, message = `connect ${code} 10.0.0.5:6379`) =>
  Object.assign(new Error(message), { code });

test("cluster errors map - a write refused is RedisRefusesWrites with the reason in words", (t) => {
  const cases: [string, string][] = [
    [
      "OOM command not allowed when used memory > 'maxmemory'. script: 3196eab668abeb43dc47d448ab3c3d18a971ffb1, on @user_script:6.",
      "out of memory (maxmemory)",
    ],
    ["READONLY You can't write against a read only replica.", "it is a read-only replica (READONLY)"],
    [
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
      "it cannot save to disk (MISCONF)",
    ],
    ["NOREPLICAS Not enough good replicas to write.", "too few replicas answer it (NOREPLICAS)"],
  ];
  for (const [text, reason] of cases) {
    const fault = reply(text);
    t.true(fault instanceof RedisRefusesWrites, text);
    t.is(fault?.message, `the cluster's Redis refuses writes: ${reason}`);
    t.is(fault?.reason, reason);
  }
});

test("cluster errors map - a server not serving, and one refusing tsd's password, say so", (t) => {
  t.true(reply("LOADING Redis is loading the dataset in memory") instanceof RedisNotServing);
  t.is(
    reply("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")?.message,
    "the cluster's Redis is not serving now: it is busy running a script (BUSY)",
  );
  t.true(
    reply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.") instanceof
      RedisNotServing,
  );
  const wrong = reply("WRONGPASS invalid username-password pair or user is disabled.");
  t.true(wrong instanceof RedisRefusesTsd);
  t.is(wrong?.message, `the cluster's Redis (${URL}) refuses tsd: wrong password or user name (WRONGPASS)`);
  t.is(
    reply("NOAUTH Authentication required.")?.message,
    `the cluster's Redis (${URL}) refuses tsd: it needs a password and the URL gives none (NOAUTH)`,
  );
  t.true(reply("NOPERM User tsd has no permissions to run the 'xadd' command") instanceof RedisRefusesTsd);
});

test("cluster errors map - a connection that fails is RedisUnreachable, with why in words", (t) => {
  const cases: [unknown, unknown, string][] = [
    [errno("ECONNREFUSED"), null, "connection refused"],
    [new ClientOfflineError(), errno("ECONNREFUSED"), "connection refused"],
    [new ClientOfflineError(), new SocketClosedUnexpectedlyError(), "connection closed"],
    [new ClientOfflineError(), null, "not connected"],
    [new SocketClosedUnexpectedlyError(), null, "connection closed"],
    [new ConnectionTimeoutError(), null, "connection timed out"],
    [errno("ENOTFOUND", "getaddrinfo ENOTFOUND redis.example"), null, "host name not found"],
    [
      errno("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"),
      null,
      "its TLS certificate is not trusted (unknown CA; give the CA with NODE_EXTRA_CA_CERTS)",
    ],
    [
      errno("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match"),
      null,
      "its TLS certificate does not name this host",
    ],
  ];
  for (const [error, last, reason] of cases) {
    const fault = redisFault(error, { url: URL, isReply: false, lastConnectionError: last });
    t.true(fault instanceof RedisUnreachable, reason);
    t.is(fault?.message, `the cluster's Redis cannot be reached (${URL}): ${reason}`);
  }
});

test("cluster errors map - a command's timeout is RedisTimedOut", (t) => {
  const fault = redisFault(new SocketTimeoutError(5000), { url: URL, isReply: false });
  t.true(fault instanceof RedisTimedOut);
  t.is(fault?.message, `the cluster's Redis (${URL}) did not answer in time`);
});

test("cluster errors map - what is a bug stays itself (with its stack)", (t) => {
  t.is(reply("WRONGTYPE Operation against a key holding the wrong kind of value"), null);
  t.is(reply("ERR Error running script (call to f_1234): @user_script:3: bad argument"), null);
  t.is(reply("NOSCRIPT No matching script. Please use EVAL."), null);
  t.is(redisFault(new TypeError("Cannot read properties of undefined"), { url: URL, isReply: false }), null);
  // A Redis-like first word in an error that is not Redis's reply is not taken for one.
  t.is(redisFault(new Error("OOM in the parser"), { url: URL, isReply: false }), null);
});
