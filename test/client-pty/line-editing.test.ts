import test from "ava";
import { MANY_REGISTRATIONS } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";
import { clientTest, registerThrough, startClient, typeLine, waitAfter } from "./clients.ts";

/**
 * Debian's telnet in character mode (`mode character` at the telnet> prompt) sends each key as
 * it is typed, erase keys included: the server's line editing must turn them into the line
 * the user meant (chat-protocol.md, "Line editing").
 */
const d = useDaemon(test, ["--no-echo", "--max-per-address", "0", ...MANY_REGISTRATIONS]);

const CTRL_RIGHT_BRACKET = "\x1d";
const DEL = "\x7f";
const BS = "\x08";
const CTRL_U = "\x15";

clientTest(
  test,
  "telnet",
  "client pty - telnet in character mode: DEL, BS and Ctrl-U edit the line; another user gets what was meant",
  async (t, program) => {
    const other = await d.user("watcher");
    const pty = await startClient(t, "telnet", program, d.daemon.chatPort);
    let at = await registerThrough(pty, "typist", "wonderland");

    pty.type(CTRL_RIGHT_BRACKET);
    at = await waitAfter(pty, "telnet> ", at);
    typeLine(pty, "mode character");
    // Back at the telnet> prompt, status says which mode is on: the switch has been negotiated.
    pty.type(CTRL_RIGHT_BRACKET);
    at = await waitAfter(pty, "telnet> ", at);
    typeLine(pty, "status");
    at = await waitAfter(pty, "Operating in single character mode", at);

    pty.type(`helo${DEL}${DEL}llo\r`);
    t.is(await other.line(/^<typist> /), "<typist> hello", "two DEL erase `lo`");
    pty.type(`привет${DEL}т мир\r`);
    t.is(await other.line(/^<typist> /), "<typist> привет мир", "a Cyrillic letter is erased whole");
    pty.type(`ok 😀${DEL}!\r`);
    t.is(await other.line(/^<typist> /), "<typist> ok !", "an emoji is erased whole");
    pty.type(`ab${BS}c\r`);
    t.is(await other.line(/^<typist> /), "<typist> ac", "Ctrl-H erases too");
    pty.type(`rubbish${CTRL_U}good\r`);
    t.is(await other.line(/^<typist> /), "<typist> good", "Ctrl-U erases the line");

    // Still in character mode, the password is typed one key at a time and never shown.
    typeLine(pty, "/passwd");
    at = await waitAfter(pty, "password: ", at);
    pty.type(`wonderlandX${DEL}\r`);
    at = await waitAfter(pty, "new password: ", at);
    typeLine(pty, "looking-glass");
    at = await waitAfter(pty, "repeat password: ", at);
    typeLine(pty, "looking-glass");
    at = await waitAfter(pty, "* password changed", at);
    typeLine(pty, "done");
    t.is(await other.line(/^<typist> /), "<typist> done");
    t.false(pty.text.includes("looking-glass"), "the new password was not shown");
    t.false(pty.text.includes("wonderlandX"), "the current password was not shown");
    t.false(
      other.all.includes("helollo") || other.all.includes("rubbish"),
      "no erased text reached the other user",
    );
  },
);

clientTest(
  test,
  "telnet",
  "client pty - telnet's own erase commands (send ec, send el: IAC EC, IAC EL) edit the line as DEL and Ctrl-U do",
  async (t, program) => {
    const other = await d.user("listener");
    const pty = await startClient(t, "telnet", program, d.daemon.chatPort);
    let at = await registerThrough(pty, "eraser", "wonderland");
    pty.type(CTRL_RIGHT_BRACKET);
    at = await waitAfter(pty, "telnet> ", at);
    typeLine(pty, "mode character");
    pty.type(CTRL_RIGHT_BRACKET);
    at = await waitAfter(pty, "telnet> ", at);
    typeLine(pty, "status");
    at = await waitAfter(pty, "Operating in single character mode", at);

    /** Types keys, then a command at the telnet> prompt (it returns to the session at once). */
    const command = async (keys: string, line: string) => {
      pty.type(keys);
      pty.type(CTRL_RIGHT_BRACKET);
      at = await waitAfter(pty, "telnet> ", at);
      typeLine(pty, line);
    };
    await command("abcd", "send ec");
    pty.type("X\r");
    t.is(await other.line(/^<eraser> /), "<eraser> abcX", "IAC EC erases the last character");
    await command("привет", "send ec");
    pty.type("\r");
    t.is(await other.line(/^<eraser> /), "<eraser> приве", "a whole Cyrillic letter");
    await command("not this", "send el");
    pty.type("fresh\r");
    t.is(await other.line(/^<eraser> /), "<eraser> fresh", "IAC EL erases the line");
    t.false(
      other.all.includes("abcdX") || other.all.includes("not this"),
      "no erased text reached the other user",
    );
  },
);
