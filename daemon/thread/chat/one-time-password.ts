import {
  CHOOSE_NEW_PASSWORD,
  errorLine,
  PASSWORD_CHANGED,
  PASSWORD_UNCHANGED,
} from "../../../protocol/chat-lines.ts";
import type { AccountStore } from "../../shared/account-store.ts";
import type { Identity } from "../../shared/identity-store.ts";
import type { ThreadLog } from "../service.ts";
import { faultWarnings } from "./fault-warnings.ts";
import { askNewPassword } from "./new-password.ts";
import type { SessionIO } from "./session-io.ts";

/** What replacing a one-time password needs from the sign-in dialogue. */
export interface OneTimeHost {
  readonly io: SessionIO;
  readonly identities: AccountStore;
  readonly log: ThreadLog;
}

/**
 * The password just typed was a one-time password (identities.reset): the sign-in completes only
 * once a new one is chosen. `new password: ` / `repeat password: ` come at once; the new password
 * replaces the one-time one (if that is still the account's), and only then does signIn run.
 * Leaving half-way leaves the one-time password as it was: the sign-in never completed.
 */
export function replaceOneTimePassword(
  host: OneTimeHost,
  identity: Identity,
  signIn: () => Promise<void>,
): void {
  const { io } = host;
  io.send(CHOOSE_NEW_PASSWORD);
  askNewPassword(io, (password) =>
    io.commit(async () => {
      let outcome: "ok" | "gone" | "stale";
      try {
        outcome = await host.identities.replaceOneTimePassword(identity.key, identity.password, password);
      } catch (error) {
        faultWarnings.warn(
          host.log,
          "one-time password not replaced: the identity file cannot be used",
          { name: identity.name },
          error,
        );
        return io.close("password not changed", PASSWORD_UNCHANGED);
      }
      if (outcome === "gone") return io.close("account removed", errorLine("your account was removed"));
      if (outcome === "stale")
        return io.close(
          "one-time password replaced meanwhile",
          errorLine("that one-time password is no longer valid; ask the operator for a new one"),
        );
      host.log("info", "one-time password replaced by the user's own", {
        name: identity.name,
        address: io.address,
      });
      io.send(PASSWORD_CHANGED);
      return signIn();
    }),
  );
}
