import test, { type ExecutionContext } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS } from "../helpers/daemon.ts";
import type { Pty } from "../helpers/pty.ts";
import { useDaemon } from "../helpers/use-daemon.ts";
import {
  type ClientName,
  clientTest,
  ECHO_OFFER,
  occurrences,
  registerThrough,
  startClient,
  typeLine,
  waitAfter,
} from "./clients.ts";

/**
 * The real clients people use, in a pseudo-terminal against the real daemon: what their
 * screen shows at the password prompts (chat-protocol.md: hidden in telnet, tintin++ and any
 * client that takes IAC WILL ECHO) and after sign-in (no stray byte). What each one shows is
 * written down in docs/clients.md.
 */
const d = useDaemon(test, ["--no-echo", "--max-per-address", "0", ...MANY_REGISTRATIONS]);

/** A raw peer that sees what the client's user says; returns it with where its own sign-in ended in its bytes. */
async function peer(name: string): Promise<{ c: ChatClient; signedInAt: number }> {
  const c = await d.user(name);
  return { c, signedInAt: c.bytes.length };
}

/** The screen's bytes hold no byte of the password typed (however it was cut up by cursor moves). */
function assertHidden(t: ExecutionContext, pty: Pty, passwords: string[]): void {
  for (const password of passwords) {
    t.false(pty.bytes.includes(password), `${password} appears on the screen`);
    t.false(pty.text.includes(password), `${password} appears in the screen text`);
  }
}

/** Nothing but text, CR and LF after `from` on the screen: no telnet byte, no replacement character. */
function assertClean(t: ExecutionContext, screen: Buffer, what: string): void {
  t.deepEqual(occurrences(screen, Buffer.from([0xff])), [], `no 0xFF byte ${what}`);
  t.false(screen.toString("utf8").includes("\uFFFD"), `no replacement character ${what}`);
  t.false(
    /[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(stripEscapes(screen.toString("utf8"))),
    `no control byte ${what}`,
  );
}

/** The terminal's own escape sequences (tintin++ and telnet may move the cursor) are not the server's bytes. */
function stripEscapes(text: string): string {
  return text.replace(
    /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]/g,
    "",
  );
}

for (const client of ["telnet", "tintin"] as const satisfies readonly ClientName[]) {
  clientTest(
    test,
    client,
    `client pty - ${client}: the passwords typed at new/repeat password, password and /passwd never appear; chat after sign-in is clean`,
    async (t, program) => {
      const name = `${client}user`;
      const first = "wonderland1";
      const second = "looking-glass2";
      const { c: other, signedInAt } = await peer(`${client}peer`);
      const pty = await startClient(t, client, program, d.daemon.chatPort);
      let at = await registerThrough(pty, name, first);
      // Each hidden answer still moved the screen on to a new line (the server's CR LF).
      t.regex(pty.text, /new password: *\r\n(\r|\x1b\[[0-9;]*[A-Za-z])*repeat password: *\r\n/);
      typeLine(pty, "hello from the client");
      t.is(await other.line(/^<.+user> /), `<${name}> hello from the client`);

      typeLine(pty, "/passwd");
      at = await waitAfter(pty, "password: ", at);
      typeLine(pty, first);
      at = await waitAfter(pty, "new password: ", at);
      typeLine(pty, second);
      at = await waitAfter(pty, "repeat password: ", at);
      typeLine(pty, second);
      at = await waitAfter(pty, "* password changed", at);
      typeLine(pty, "after passwd");
      t.is(await other.line(/^<.+user> /), `<${name}> after passwd`);

      // Signing in again, in a second session (which takes the first over).
      const again = await startClient(t, client, program, d.daemon.chatPort);
      typeLine(again, name);
      let pw = await waitAfter(again, "password: ", 0);
      typeLine(again, "not-this-one");
      pw = await waitAfter(again, "! wrong password", pw);
      pw = await waitAfter(again, /login( \[[^\]]*\])?: /, pw);
      typeLine(again, name);
      pw = await waitAfter(again, "password: ", pw);
      typeLine(again, second);
      await waitAfter(again, /\* \d+ online: /, pw);
      typeLine(again, "back again");
      t.is(await other.line(/^<.+user> /), `<${name}> back again`);
      other.send("a line for the client");
      await again.waitFor(`<${client}peer> a line for the client`, 30_000);

      assertHidden(t, pty, [first, second]);
      assertHidden(t, again, [second, "not-this-one"]);
      const afterSignIn = again.bytes.subarray(again.bytes.indexOf("online: "));
      assertClean(t, afterSignIn, "on the client's screen after sign-in");
      assertClean(t, other.bytes.subarray(signedInAt), "at the other user");
    },
  );
}

clientTest(
  test,
  "ncat",
  "client pty - ncat -t refuses the offer and echoes the password itself; it is not asked again, and the chat is clean",
  async (t, program) => {
    const { c: other } = await peer("ncatpeer");
    const pty = await startClient(t, "ncat", program, d.daemon.chatPort);
    await registerThrough(pty, "ncatuser", "wonderland3");
    typeLine(pty, "hello from ncat");
    t.is(await other.line(/^<ncatuser> /), "<ncatuser> hello from ncat");
    other.send("a line for ncat");
    await pty.waitFor("<ncatpeer> a line for ncat", 30_000);
    // What docs/clients.md says: ncat -t answers DONT ECHO and prints the offer's bytes; the
    // password is shown as typed. A refused offer is not made again (repeat password: has none).
    const screen = pty.bytes;
    t.true(pty.text.includes("new password: wonderland3"), "ncat -t echoes the password locally");
    const offers = occurrences(screen, ECHO_OFFER);
    t.is(offers.length, 1, "one offer, before new password: only");
    t.is(screen.indexOf("new password: "), offers[0]! + ECHO_OFFER.length);
    assertClean(t, screen.subarray(screen.indexOf("* registered")), "on ncat's screen after sign-in");
  },
);

for (const client of ["nc", "socat"] as const satisfies readonly ClientName[]) {
  clientTest(
    test,
    client,
    `client pty - ${client} (raw): IAC WILL ECHO once, right before the first password prompt; nothing after it`,
    async (t, program) => {
      const name = `${client}user`;
      const { c: other } = await peer(`${client}peer`);
      const pty = await startClient(t, client, program, d.daemon.chatPort);
      await registerThrough(pty, name, "wonderland4");
      typeLine(pty, `hello from ${client}`);
      t.is(await other.line(/^<.+user> /), `<${name}> hello from ${client}`);
      typeLine(pty, "/passwd");
      await pty.waitFor("password: ", 30_000);
      typeLine(pty, "wonderland4");
      await pty.waitFor(/new password: [\s\S]*new password: /, 30_000);
      typeLine(pty, "wonderland5");
      await pty.waitFor(/repeat password: [\s\S]*repeat password: /, 30_000);
      typeLine(pty, "wonderland5");
      await pty.waitFor("* password changed", 30_000);
      other.send(`a line for ${client}`);
      await pty.waitFor(`<${client}peer> a line for ${client}`, 30_000);
      const screen = pty.bytes;
      const offers = occurrences(screen, ECHO_OFFER);
      t.is(offers.length, 1, "the offer is made once: a client that never answers is not asked again");
      t.is(screen.indexOf("new password: "), offers[0]! + ECHO_OFFER.length, "right before the prompt");
      assertClean(t, screen.subarray(screen.indexOf("* registered")), `on ${client}'s screen after sign-in`);
      assertClean(t, screen.subarray(0, offers[0]), `on ${client}'s screen before the first password prompt`);
    },
  );
}
