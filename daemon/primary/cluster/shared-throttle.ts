import type { RegistrationReply, ThrottleReply } from "../../../protocol/hub-messages.ts";
import { PAIR_BASE_MS, PAIR_FORGET_MS, PAIR_MAX_MS } from "../../../protocol/sign-in-throttle.ts";
import { SignInLimits } from "../hub/sign-in-limits.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { FAILED, PAIR_DELAY } from "./cluster-scripts.ts";
import type { RedisLink } from "./redis-link.ts";

/**
 * The sign-in throttle in a cluster: the account+address delay is the cluster's (failures counted
 * in Redis, so guessing on several daemons in turn is no faster than on one); the bound on
 * addresses new to the account and the registration budget are this daemon's.
 */
export class SharedThrottle {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly local: SignInLimits;

  constructor(redis: RedisLink, keys: ClusterKeys, registrationsPerHour: number) {
    this.redis = redis;
    this.keys = keys;
    this.local = new SignInLimits(registrationsPerHour, Date.now);
  }

  async throttle(key: string, address: string, lastAddress: string | null): Promise<ThrottleReply> {
    const local = this.local.throttle(key, address, lastAddress);
    if (local.retryAfterMs !== undefined) return local;
    const shared = Number(
      await this.redis
        .eval(PAIR_DELAY, [this.keys.pair(key, address)], [PAIR_BASE_MS, PAIR_MAX_MS])
        .catch(() => 0),
    );
    return { delayMs: Math.max(local.delayMs, shared) };
  }

  /** Settles once Redis has counted it (the thread waits, so the next guess anywhere already waits longer). */
  async failed(key: string, address: string): Promise<void> {
    this.local.failed(key, address);
    await this.redis.eval(FAILED, [this.keys.pair(key, address)], [PAIR_FORGET_MS]).catch(() => {});
  }

  registration(address: string, spend: boolean): RegistrationReply {
    return this.local.registration(address, spend);
  }

  /** A sign-in went through: the account+address starts afresh, here and in Redis. */
  signedIn(key: string, address: string): void {
    this.local.signedIn(key, address);
    this.redis.call(["DEL", this.keys.pair(key, address)]).catch(() => {});
  }
}
