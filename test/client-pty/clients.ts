import fs from "node:fs";
import path from "node:path";
import type { ExecutionContext, TestFn } from "ava";
import { Pty } from "../helpers/pty.ts";

/** The real clients these tests drive, with the Debian package each comes from (.ci/run installs them). */
export const CLIENTS = {
  telnet: { program: "telnet", package: "inetutils-telnet" },
  tintin: { program: "tt++", package: "tintin++" },
  ncat: { program: "ncat", package: "ncat" },
  nc: { program: "nc", package: "netcat-openbsd" },
  socat: { program: "socat", package: "socat" },
} as const;
export type ClientName = keyof typeof CLIENTS;

/** The path of a program on PATH or in /usr/games (where Debian puts tt++), or null when it is not installed. */
export function findProgram(program: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/games"];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, program);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {}
  }
  return null;
}

/**
 * A serial test that needs a real client: run with its path when the client is installed;
 * otherwise skipped, the title saying which package is missing (the machine lacks it).
 */
export function clientTest(
  test: TestFn,
  client: ClientName,
  title: string,
  fn: (t: ExecutionContext, program: string) => Promise<void>,
): void {
  const { program, package: pkg } = CLIENTS[client];
  const found = findProgram(program);
  if (found) test.serial(title, (t) => fn(t, found));
  else test.serial.skip(`${title} (skipped: ${program} is not installed; Debian package ${pkg})`, () => {});
}

/** The command line that connects each client to 127.0.0.1:port. */
export function connectCommand(client: ClientName, program: string, port: number): string[] {
  switch (client) {
    case "telnet":
      return [program, "127.0.0.1", String(port)];
    case "ncat":
      return [program, "-t", "127.0.0.1", String(port)];
    case "nc":
      return [program, "127.0.0.1", String(port)];
    case "socat":
      return [program, "-", `TCP:127.0.0.1:${port}`];
    case "tintin":
      return [program];
  }
}

/** Starts a client in a pty, connected to the chat (tintin++: through `#session`). */
export async function startClient(
  t: ExecutionContext,
  client: ClientName,
  program: string,
  port: number,
): Promise<Pty> {
  const pty = new Pty(connectCommand(client, program, port));
  t.teardown(() => pty.kill());
  if (client === "tintin") {
    await pty.waitFor("T I N T I N", 30_000);
    pty.type(`#session x 127.0.0.1 ${port}\r`);
  }
  await pty.waitFor(/login( \[[^\]]*\])?: /, 30_000);
  return pty;
}

/** Types a line as a terminal sends it (Enter is CR; the terminal or client makes the line end). */
export function typeLine(pty: Pty, text: string): void {
  pty.type(`${text}\r`);
}

/**
 * Waits for text to appear on the screen after position `from` of the screen text, and
 * returns where it ends, so the next wait starts after it.
 */
export async function waitAfter(
  pty: Pty,
  text: string | RegExp,
  from: number,
  timeoutMs = 30_000,
): Promise<number> {
  await pty.waitFor(text, timeoutMs, from);
  const screen = pty.text;
  if (typeof text === "string") return screen.indexOf(text, from) + text.length;
  const match = new RegExp(text.source, text.flags.replace("g", "")).exec(screen.slice(from));
  return from + match!.index + match![0].length;
}

/** Registers name through the client's screen, typing the password twice; returns the screen position after the online line. */
export async function registerThrough(pty: Pty, name: string, password: string): Promise<number> {
  typeLine(pty, name);
  let at = await waitAfter(pty, "new password: ", 0);
  typeLine(pty, password);
  at = await waitAfter(pty, "repeat password: ", at);
  typeLine(pty, password);
  return waitAfter(pty, /\* \d+ online: [^\r\n]*\r*\n/, at);
}

/** The offer a raw client sees before a password prompt: IAC WILL ECHO (docs/clients.md). */
export const ECHO_OFFER = Buffer.from([0xff, 0xfb, 0x01]);

/** Where needle occurs in haystack, every time. */
export function occurrences(haystack: Buffer, needle: Buffer | string): number[] {
  const found: number[] = [];
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) found.push(i);
  return found;
}
