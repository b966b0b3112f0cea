import {
  ACCOUNT_NOT_SAVED,
  ACCOUNTS_UNAVAILABLE,
  errorLine,
  greetingLine,
  loginPrompt,
  PASSWORD_PROMPT,
  registered,
  signInsPaused,
  TOO_MANY_FAILURES,
  tooManyRegistrations,
  WRONG_PASSWORD,
  welcomeBack,
} from "../../../protocol/chat-lines.ts";
import { checkName, nameConflictReason } from "../../../protocol/names.ts";
import { hasControlChars } from "../../../protocol/text.ts";
import { type AccountStore, AccountsUnreachable } from "../../shared/account-store.ts";
import { type Identity, IdentityFileCorrupt } from "../../shared/identity-store.ts";
import { MAX_SIGN_IN_FAILURES } from "../../shared/limits.ts";
import type { HubLink } from "../hub-link.ts";
import { threadCounters } from "../metrics.ts";
import type { ThreadLog } from "../service.ts";
import { askNewPassword } from "./new-password.ts";
import { replaceOneTimePassword } from "./one-time-password.ts";
import type { SessionIO } from "./session-io.ts";

/** What the sign-in dialogue needs from its session. */
export interface SignInHost {
  readonly sid: string;
  readonly io: SessionIO;
  readonly hub: HubLink;
  readonly identities: AccountStore;
  readonly log: ThreadLog;
  /**
   * The password is right, or the account is written: the session joins the chat; greeting is
   * written once the join is taken (a join refused is not welcomed first).
   */
  signIn(name: string, key: string, greeting?: string): Promise<void>;
}

/**
 * SignInDialogue takes a connection from `login: ` to signed in: a known name is asked its
 * password (throttled per account by the hub, at most MAX_SIGN_IN_FAILURES wrong ones per
 * connection); a new one, once checked against the rules, the look-alikes of existing names
 * and the network's registration budget, is held while the new password is typed twice.
 */
export class SignInDialogue {
  private readonly host: SignInHost;
  private readonly io: SessionIO;
  private readonly address: string;
  private remembered: string | undefined;
  private failures = 0;
  /** Settled once the greeting is out: a line typed earlier is answered after it, not before. */
  private readonly greeted = Promise.withResolvers<void>();

  constructor(host: SignInHost) {
    this.host = host;
    this.io = host.io;
    this.address = host.io.address;
    // Lines typed before the greeting is out answer the login prompt too, once it is out.
    this.io.expect(async (typed) => {
      await this.greeted.promise;
      return this.onLogin(typed);
    });
  }

  /** Greets the user with the login prompt, offering the name last used from this address. */
  async start(): Promise<void> {
    this.remembered = await this.host.identities.rememberedName(this.address).catch(() => undefined);
    this.io.send(greetingLine());
    this.io.prompt(loginPrompt(this.remembered));
    this.greeted.resolve();
  }

  private askLogin(): void {
    this.io.ask(loginPrompt(this.remembered), (typed) => this.onLogin(typed));
  }

  private async onLogin(typed: string): Promise<void> {
    let raw = typed;
    if (raw === "") {
      if (!this.remembered) return this.askLogin();
      raw = this.remembered;
    }
    if (hasControlChars(raw)) return this.refuse(errorLine("names cannot contain control characters"));
    const checked = checkName(raw);
    if (!checked.ok) return this.refuse(errorLine(checked.reason));
    let identity: Identity | undefined;
    try {
      identity = await this.host.identities.get(checked.key);
    } catch (error) {
      return this.accountsUnavailable(error);
    }
    if (identity) {
      const { name } = identity;
      return this.io.ask(PASSWORD_PROMPT, (password) => this.onPassword(name, checked.key, password), true);
    }
    const conflict = await this.host.identities.nameConflict(checked.key, checked.skeletons);
    if (conflict) return this.refuse(errorLine(nameConflictReason(checked.name, conflict)));
    // Say so before the passwords are typed; the budget is spent only when the account is written.
    const budget = await this.host.hub.request({ k: "registration", address: this.address, spend: false });
    if (!budget.ok) return this.refuse(tooManyRegistrations(budget.retryAfterMs));
    const reserved = await this.host.hub.request({ k: "reserve", sid: this.host.sid, key: checked.key });
    if (reserved.refused !== undefined) return this.io.close("banned", reserved.refused);
    if (!reserved.ok) return this.refuse(errorLine(`the name ${checked.name} is in use right now`));
    askNewPassword(this.io, (password) =>
      this.io.commit(() => this.register(checked.name, checked.key, password)),
    );
  }

  /** The sign-in could not complete now (a cluster whose Redis is away): says so and asks for a name again. */
  askAgain(line: string): void {
    this.refuse(line);
  }

  /** Says why the name will not do, and asks for one again. */
  private refuse(line: string): void {
    this.io.send(line);
    this.askLogin();
  }

  private async onPassword(name: string, key: string, password: string): Promise<void> {
    const lastAddress = (await this.host.identities.get(key).catch(() => undefined))?.lastAddress ?? null;
    const { delayMs, retryAfterMs } = await this.host.hub.request({
      k: "throttle",
      key,
      address: this.address,
      lastAddress,
    });
    if (retryAfterMs !== undefined) {
      this.host.log("info", "sign-in refused: too many failures from new addresses", {
        name,
        address: this.address,
        retryAfterMs,
      });
      return this.io.close("sign-ins to the account paused", signInsPaused(name, retryAfterMs));
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.io.closed) return;
    let identity: Identity | null;
    try {
      identity = await this.host.identities.verify(key, password);
    } catch (error) {
      return this.accountsUnavailable(error);
    }
    if (identity) {
      const { name } = identity;
      if (identity.mustChangePassword)
        return replaceOneTimePassword(this.host, identity, () =>
          this.host.signIn(name, key, welcomeBack(name)),
        );
      return this.host.signIn(name, key, welcomeBack(name));
    }
    // Counted before the user hears of it (in a cluster too), so the next guess already waits longer.
    await this.host.hub.request({ k: "failed", key, address: this.address });
    threadCounters.signInFailures++;
    this.failures++;
    this.host.log("info", "failed sign-in", { name, address: this.address, failures: this.failures });
    if (this.failures >= MAX_SIGN_IN_FAILURES) return this.io.close("too many failures", TOO_MANY_FAILURES);
    this.refuse(WRONG_PASSWORD);
  }

  /** The new password is typed twice alike: spend the budget, write the account, sign in. */
  private async register(name: string, key: string, password: string): Promise<void> {
    const budget = await this.host.hub.request({ k: "registration", address: this.address, spend: true });
    if (!budget.ok) {
      this.host.log("info", "registration refused: too many from the network", {
        name,
        address: this.address,
      });
      return this.io.close("too many registrations", tooManyRegistrations(budget.retryAfterMs));
    }
    let outcome: "ok" | "taken";
    try {
      outcome = await this.host.identities.register(name, key, password, this.address);
    } catch (error) {
      if (error instanceof IdentityFileCorrupt) return this.accountsUnavailable(error);
      // Nothing was written (a full disk, an I/O error): no account, so never "* registered".
      this.host.log("error", "registration could not be written", {
        name,
        address: this.address,
        error: (error as Error).message,
      });
      return this.refuse(ACCOUNT_NOT_SAVED);
    }
    if (outcome === "taken") return this.refuse(errorLine(`the name ${name} was just taken; pick another`));
    this.host.log("info", "registered", { name, address: this.address });
    threadCounters.registrations++;
    this.io.send(registered(name));
    return this.host.signIn(name, key);
  }

  /**
   * The identity file cannot be used (corrupt, unreadable) or the process cannot open it now (out
   * of descriptors): say so and ask again. The operator hears of a broken file once; the process's
   * own shortage is logged where it is counted (the descriptor budget), not per sign-in.
   */
  private accountsUnavailable(error: unknown): void {
    // AccountsUnreachable: in a cluster, Redis is away (the hub has logged it).
    if (
      !(error instanceof IdentityFileCorrupt) &&
      !(error instanceof AccountsUnreachable) &&
      !isResourceShortage(error)
    )
      throw error;
    if (error instanceof IdentityFileCorrupt && error.firstReport()) {
      this.host.log("error", "sign-ins refused: the identity file cannot be used", { error: error.message });
    }
    this.refuse(ACCOUNTS_UNAVAILABLE);
  }
}

/** A failure of the process, not of the file: too many open files, or no memory. */
function isResourceShortage(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EMFILE" || code === "ENFILE" || code === "ENOMEM";
}
