import { SimpleError } from "@redis/client";
import test from "ava";
import {
  RedisNotServing,
  RedisRefusesTsd,
  mayHaveRun,
  redisFault,
} from "../../daemon/primary/cluster/redis-faults.ts";

/**
 * Faults an operator must expect that Redis gives without a code of their own (maxclients: ERR),
 * or that say tsd was pointed at a Redis Cluster node: told in one sentence, never Redis's text,
 * and never run. Pure: the library's own error class with Redis's own reply texts.
 */
const URL = "redis://:***@10.0.0.5:6379";
const reply = (text: string) => redisFault(new SimpleError(text), { url: URL, isReply: true });

test("cluster errors - maxclients reached is RedisNotServing with the reason in words", (t) => {
  const fault = reply("ERR max number of clients reached");
  t.true(fault instanceof RedisNotServing);
  t.is(
    fault?.message,
    "the cluster's Redis is not serving now: it has as many clients as it takes (maxclients)",
  );
  t.false(mayHaveRun(fault));
});

test("cluster errors - a Redis Cluster node's redirections are RedisRefusesTsd", (t) => {
  for (const text of [
    "MOVED 3999 127.0.0.1:6381",
    "ASK 3999 127.0.0.1:6381",
    "CROSSSLOT Keys in request don't hash to the same slot",
  ]) {
    const fault = reply(text);
    t.true(fault instanceof RedisRefusesTsd, text);
    t.regex(fault?.message ?? "", /refuses tsd: it is a Redis Cluster node; tsd needs one Redis \([A-Z]+\)$/);
    t.false(fault?.message.includes("127.0.0.1") ?? true, "Redis's own text");
  }
  // Other ERR replies stay programming errors.
  t.is(reply("ERR unknown command 'FOO'"), null);
});
