import test from "ava";
import {
  NEW_PASSWORD_PROMPT,
  PASSWORDS_DIFFER,
  passwordTooShort,
  REPEAT_PASSWORD_PROMPT,
} from "../../protocol/chat-lines.ts";
import { MIN_PASSWORD_LENGTH } from "../../daemon/shared/limits.ts";
import { askNewPassword } from "../../daemon/thread/chat/new-password.ts";
import type { Answer, Prompter } from "../../daemon/thread/chat/session-io.ts";

/** A user at a terminal: records what the dialogue sends and answers each prompt from a script. */
class ScriptedUser implements Prompter {
  readonly seen: string[] = [];
  private waiting: { answer: Answer; secret: boolean } | null = null;
  send(data: string): void {
    this.seen.push(data);
  }
  ask(prompt: string, answer: Answer, secret = false): void {
    this.seen.push(prompt);
    this.waiting = { answer, secret };
  }
  /** Types a line; resolves once the dialogue has handled it. Fails if nothing asked. */
  async type(text: string): Promise<boolean> {
    const waiting = this.waiting;
    if (!waiting) throw new Error(`typed ${text} with no prompt waiting`);
    this.waiting = null;
    await waiting.answer(text);
    return waiting.secret;
  }
  get asking(): boolean {
    return this.waiting !== null;
  }
}

test("new password - too short asks again, a repeat that differs starts over, alike twice is done", async (t) => {
  const user = new ScriptedUser();
  const done: string[] = [];
  askNewPassword(user, async (password) => {
    done.push(password);
  });
  const secrets = [];
  secrets.push(await user.type("ab"));
  secrets.push(await user.type("secret1"));
  secrets.push(await user.type("secret2"));
  secrets.push(await user.type("secret3"));
  secrets.push(await user.type("secret3"));
  t.deepEqual(user.seen, [
    NEW_PASSWORD_PROMPT,
    passwordTooShort(MIN_PASSWORD_LENGTH),
    NEW_PASSWORD_PROMPT,
    REPEAT_PASSWORD_PROMPT,
    PASSWORDS_DIFFER,
    NEW_PASSWORD_PROMPT,
    REPEAT_PASSWORD_PROMPT,
  ]);
  t.deepEqual(secrets, [true, true, true, true, true], "every prompt hides typing");
  t.deepEqual(done, ["secret3"]);
  t.false(user.asking, "nothing more is asked once done");
});

test("new password - the length counts characters, not bytes or UTF-16 units", async (t) => {
  const user = new ScriptedUser();
  const done: string[] = [];
  askNewPassword(user, async (password) => {
    done.push(password);
  });
  await user.type("ёжи"); // 6 bytes, 3 characters
  await user.type("😀😀😀"); // 6 UTF-16 units, 3 characters
  await user.type("ёжик");
  await user.type("ёжик");
  t.deepEqual(done, ["ёжик"]);
  t.deepEqual(user.seen, [
    NEW_PASSWORD_PROMPT,
    passwordTooShort(MIN_PASSWORD_LENGTH),
    NEW_PASSWORD_PROMPT,
    passwordTooShort(MIN_PASSWORD_LENGTH),
    NEW_PASSWORD_PROMPT,
    REPEAT_PASSWORD_PROMPT,
  ]);
});
