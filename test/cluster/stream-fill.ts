import { ClusterKeys } from "../../daemon/primary/cluster/cluster-keys.ts";

/** The cluster's stream (the default cluster name). */
export const EVENTS = new ClusterKeys("tsd").events;
/** Adds ARGV[1] events ARGV[3] to the stream as the daemons do (MAXLEN ~ ARGV[2]). */
export const FILL = `for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3]) end return 1`;
/** An event every daemon reads and none acts on: a private message for a session of no node. */
export const FILLER = JSON.stringify({
  t: "direct",
  node: "nobody",
  sid: "none",
  line: "filler\r\n",
  from: { name: "x" },
});
