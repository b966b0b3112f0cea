import test from "ava";
import { MANY_REGISTRATIONS } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";
import { clientTest, registerThrough, startClient, typeLine, waitAfter } from "./clients.ts";

/**
 * Ctrl-C and Ctrl-Z in Debian's telnet (line mode) send IAC IP or IAC SUSP with IAC DO
 * TIMING-MARK, and telnet throws away what the server sends until that DO is answered. A server
 * that answers it only the first time leaves the user's screen silent for good after the
 * second Ctrl-C, while the chat goes on without them seeing it.
 */
const d = useDaemon(test, ["--no-echo", "--max-per-address", "0", ...MANY_REGISTRATIONS]);

const CTRL_C = "\x03";
const CTRL_Z = "\x1a";

clientTest(
  test,
  "telnet",
  "client pty - telnet: after each Ctrl-C and Ctrl-Z the screen still shows the chat",
  async (t, program) => {
    const other = await d.user("speaker");
    const pty = await startClient(t, "telnet", program, d.daemon.chatPort);
    let at = await registerThrough(pty, "interrupter", "wonderland");
    const keys = [CTRL_C, CTRL_C, CTRL_Z, CTRL_C, CTRL_Z];
    for (const [i, key] of keys.entries()) {
      pty.type(key);
      // The user's own line after the key: the server has read the key's bytes by then.
      typeLine(pty, `typed after key ${i + 1}`);
      t.is(await other.line(/^<interrupter> /), `<interrupter> typed after key ${i + 1}`);
      other.send(`line ${i + 1} for the interrupter`);
      at = await waitAfter(pty, `<speaker> line ${i + 1} for the interrupter`, at);
    }
    t.pass();
  },
);

clientTest(
  test,
  "telnet",
  "client pty - telnet's send ayt (IAC AYT) is answered with a line the user sees, at a prompt and in the chat",
  async (t, program) => {
    const pty = await startClient(t, "telnet", program, d.daemon.chatPort);
    pty.type("\x1d");
    let at = await waitAfter(pty, "telnet> ", 0);
    typeLine(pty, "send ayt");
    // At the login prompt: the answer on a line of its own, then the prompt again.
    at = await waitAfter(pty, /\* yes, the server is here\r\nlogin( \[[^\]]*\])?: /, at);
    typeLine(pty, "ayter");
    at = await waitAfter(pty, "new password: ", at);
    typeLine(pty, "wonderland");
    at = await waitAfter(pty, "repeat password: ", at);
    typeLine(pty, "wonderland");
    at = await waitAfter(pty, /\* \d+ online: /, at);
    pty.type("\x1d");
    at = await waitAfter(pty, "telnet> ", at);
    typeLine(pty, "send ayt");
    await waitAfter(pty, "* yes, the server is here", at);
    t.pass();
  },
);
