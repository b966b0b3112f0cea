import type { ClusterEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { STREAM_MAXLEN } from "./cluster-limits.ts";
import type { RedisLink, RedisReply } from "./redis-link.ts";

/**
 * ChatPublisher puts events on the cluster's stream: one XADD each, never resent (a command whose
 * connection drops may have run: resending could deliver it twice).
 */
export class ChatPublisher {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;

  constructor(redis: RedisLink, keys: ClusterKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  publish(event: ClusterEvent): Promise<RedisReply> {
    return this.redis.call([
      "XADD",
      this.keys.events,
      "MAXLEN",
      "~",
      STREAM_MAXLEN,
      "*",
      "e",
      JSON.stringify(event),
    ]);
  }
}
