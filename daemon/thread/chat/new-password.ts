import {
  NEW_PASSWORD_PROMPT,
  PASSWORDS_DIFFER,
  passwordTooShort,
  REPEAT_PASSWORD_PROMPT,
} from "../../../protocol/chat-lines.ts";
import { MIN_PASSWORD_LENGTH } from "../../shared/limits.ts";
import { passwordLength } from "../../shared/password.ts";
import type { Prompter } from "./session-io.ts";

/**
 * askNewPassword is the new-password dialogue of both registration and /passwd: `new password: `
 * until one is long enough, then `repeat password: `; a repeat that differs starts it over.
 * done gets the password once it has been typed twice alike.
 */
export function askNewPassword(user: Prompter, done: (password: string) => Promise<void>): void {
  user.ask(
    NEW_PASSWORD_PROMPT,
    (password) => {
      if (passwordLength(password) < MIN_PASSWORD_LENGTH) {
        user.send(passwordTooShort(MIN_PASSWORD_LENGTH));
        return askNewPassword(user, done);
      }
      user.ask(
        REPEAT_PASSWORD_PROMPT,
        (repeated) => {
          if (repeated !== password) {
            user.send(PASSWORDS_DIFFER);
            return askNewPassword(user, done);
          }
          return done(password);
        },
        true,
      );
    },
    true,
  );
}
