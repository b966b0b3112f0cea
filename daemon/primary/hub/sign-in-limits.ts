import type { RegistrationReply, ThrottleReply } from "../../../protocol/hub-messages.ts";
import { RegistrationBudget, registrationTiers } from "../../../protocol/registration-budget.ts";
import { SignInThrottle } from "../../../protocol/sign-in-throttle.ts";

/**
 * SignInLimits holds what bounds guessing and account making across every thread: the
 * sign-in throttle (protocol/sign-in-throttle.ts) and the registration budget per network
 * (protocol/registration-budget.ts), both on one clock.
 */
export class SignInLimits {
  readonly #throttle = new SignInThrottle();
  readonly #registrations: RegistrationBudget | null;
  readonly #now: () => number;

  /** registrationsPerHour: accounts an hour per network; 0 is no bound. */
  constructor(registrationsPerHour: number, now: () => number) {
    this.#now = now;
    this.#registrations =
      registrationsPerHour > 0 ? new RegistrationBudget(registrationTiers(registrationsPerHour)) : null;
  }

  /** Before a password check: how long to wait, or to refuse it. */
  throttle(key: string, address: string, lastAddress: string | null): ThrottleReply {
    return this.#throttle.check(key, address, lastAddress, this.#now());
  }

  failed(key: string, address: string): void {
    this.#throttle.failed(key, address, this.#now());
  }

  signedIn(key: string, address: string): void {
    this.#throttle.signedIn(key, address, this.#now());
  }

  /** May address make an account now; spend: and count it. */
  registration(address: string, spend: boolean): RegistrationReply {
    const budget = this.#registrations;
    const now = this.#now();
    const wait = !budget ? 0 : spend ? budget.take(address, now) : budget.waitMs(address, now);
    return { ok: wait === 0, retryAfterMs: wait };
  }
}
