// Every scenario `npm run bench -- <name>` knows, in the order they run by default.
// A name that is a prefix of several (`chat`, `chat-fanout`, `echo`) selects them all.
import type { Scenario } from "../types.ts";
import { chatFanout100, chatFanout1000, chatIdle, chatSignin } from "./chat.ts";
import { cluster } from "./cluster.ts";
import { clusterRedis } from "./cluster-redis.ts";
import { echoBulk, echoPingpong } from "./echo.ts";

export const SCENARIOS: readonly Scenario[] = [
  echoPingpong,
  echoBulk,
  chatFanout100,
  chatFanout1000,
  chatIdle,
  chatSignin,
  cluster,
  clusterRedis,
];
