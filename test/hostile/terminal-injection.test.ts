import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { shape, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";
import { bound } from "./helpers.ts";

const d = useDaemon(test, [...shape(2, 1), "--no-echo", "--log-level", "debug"]);
const user = (name: string) => d.user(name);

/**
 * Terminal control as it arrives in UTF-8 text: ESC, C1 (U+0080-U+009F), bidi embeddings, overrides
 * and isolates. DEL and BS are line editing (chat-protocol.md): they erase the `XY` before them.
 */
const HOSTILE = "\x1b[2J\x1b]0;owned\x07\x1b[31m\u202e\u2066\u0085\u009b31m\u009d8;;x\u009c\u0090XY\x7f\x08";

/**
 * The bytes with the one telnet command a raw client may see taken out: IAC WILL ECHO right
 * before a password prompt (README, "Telnet"); any other 0xFF still counts.
 */
function withoutEchoOffers(bytes: Buffer): Buffer {
  const text = bytes.toString("latin1").replace(/\xff\xfb\x01(?=(?:current |new |repeat )?password: )/g, "");
  return Buffer.from(text, "latin1");
}

/** Every forbidden code point in text, other than the CR LF line ends the server adds. */
function forbiddenIn(text: string): string[] {
  const found: string[] = [];
  const body = text.replaceAll("\r\n", "\n");
  for (const ch of body) {
    const cp = ch.codePointAt(0)!;
    const bad =
      (cp < 0x20 && cp !== 0x09 && cp !== 0x0a) ||
      (cp >= 0x7f && cp <= 0x9f) ||
      (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069);
    if (bad) found.push(`U+${cp.toString(16).padStart(4, "0")}`);
  }
  return found;
}

/** Raw byte patterns that would be terminal control: ESC, UTF-8 C1, UTF-8 bidi controls, telnet IAC. */
function rawControl(bytes: Buffer): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x1b) found.push(`ESC at ${i}`);
    if (b === 0xff) found.push(`0xFF at ${i}`);
    if (b === 0xc2 && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f) found.push(`C1 at ${i}`);
    if (b === 0xe2 && bytes[i + 1] === 0x80 && bytes[i + 2]! >= 0xaa && bytes[i + 2]! <= 0xae)
      found.push(`bidi at ${i}`);
    if (b === 0xe2 && bytes[i + 1] === 0x81 && bytes[i + 2]! >= 0xa6 && bytes[i + 2]! <= 0xa9)
      found.push(`isolate at ${i}`);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .flatMap((e) => (e.isFile() ? [path.join(e.parentPath, e.name)] : []));
}

test.serial(
  "terminal injection - escapes, C1 and bidi in messages, /me, /msg and /quit reach no other terminal and no history",
  async (t) => {
    const daemon = d.daemon;
    const mallory = await user("mallory");
    const bob = await user("bob");
    await mallory.announced("bob", "joined");

    mallory.send(`hello${HOSTILE} world`);
    t.is(await bob.line(/^<mallory> /), "<mallory> hello world");
    // Raw bytes that are not UTF-8 (a lone 8-bit CSI byte) and a CSI cut in two by a telnet command.
    mallory.write(
      Buffer.concat([
        Buffer.from("raw"),
        Buffer.from([0x9b, 0x32, 0x4a, 0x1b, 0xff, 0xfb, 0x01]),
        Buffer.from("[0mbytes\r\n"),
      ]),
    );
    t.regex(await bob.line(/^<mallory> raw/), /^<mallory> raw\uFFFD2Jbytes$/);
    mallory.send(`/me waves${HOSTILE} at bob`);
    t.is(await bob.line(/^\* mallory /), "* mallory waves at bob");
    mallory.send(`/msg bob psst${HOSTILE} \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\`);
    t.is(await bob.line(/^\*mallory\* /), "*mallory* psst click");
    // (mallory's own stream also holds the telnet refusal IAC DONT ECHO for the IAC WILL ECHO she sent)
    t.regex(await mallory.line(/-> /), /(^|\x01)-> \*bob\* psst click$/);

    // History as bob asks for it.
    bob.send("/history 50");
    await bob.line("* end of history");
    t.true(/\] <mallory> hello world\r\n/.test(bob.all), "the message is in history, cleaned");

    mallory.send(`/quit gone${HOSTILE} fishing\u202e`);
    t.is(await bob.line(/^\* mallory left/), "* mallory left (gone fishing)");
    await mallory.closedByServer();

    // A login name with control characters is refused, never echoed raw.
    const eve = await d.client();
    await eve.loginPrompt();
    eve.send("eve\x1b[2J\u202e");
    t.regex(await eve.line(/^! /), /control characters/);
    await eve.loginPrompt();
    eve.close();

    // A line carol says now reaches bob after everything the hub sent him before it.
    const carol = await user("carol");
    carol.send("sync");
    await bob.line("<carol> sync");
    const bytes = withoutEchoOffers(bob.bytes);
    const rawFound = rawControl(bytes);
    const cpFound = forbiddenIn(bytes.toString("utf8"));
    bound(t, "terminal-injection", "bytes received by the other user", bytes.length);
    bound(
      t,
      "terminal-injection",
      "control bytes or code points reaching the other user",
      rawFound.length + cpFound.length,
    );
    t.deepEqual(rawFound, [], "no raw control bytes reached bob");
    t.deepEqual(cpFound, [], "no forbidden code points reached bob");

    // A later user's /history shows the cleaned lines too.
    carol.send("/history 500");
    await carol.line("* end of history");
    t.deepEqual(rawControl(withoutEchoOffers(carol.bytes)), []);
    t.deepEqual(forbiddenIn(carol.all), []);
    t.true(carol.all.includes("<mallory> hello world\r\n"));

    // Nothing stored on disk or logged holds the control characters either (raw, or JSON-escaped ESC).
    await waitFor(() => filesUnder(daemon.logDir).length > 0, 15_000, "a log file");
    const stored: string[] = [];
    for (const file of [...filesUnder(daemon.stateDir), ...filesUnder(daemon.logDir)]) {
      const content = fs.readFileSync(file);
      const found = [
        ...rawControl(content),
        ...(/\\u001b|\\u009b|\\u202e/i.test(content.toString("latin1")) ? ["escaped"] : []),
      ];
      if (found.length > 0)
        stored.push(`${path.relative(daemon.dir, file)}: ${found.slice(0, 5).join(", ")}`);
    }
    const logged = filesUnder(daemon.logDir).some((f) => fs.readFileSync(f, "utf8").includes("hello world"));
    t.true(logged, "message contents are logged at debug level, so the log check above is not vacuous");
    bound(t, "terminal-injection", "state and log files holding control characters", stored.length);
    t.deepEqual(stored, [], "no control characters stored or logged");
  },
);
