import type net from "node:net";
import readline from "node:readline";
import { colourise } from "./colour.ts";
import { isQuit, SERVER_CLOSED, sendLine, serverClosed } from "./connection.ts";
import { LineSplitter } from "./line-splitter.ts";

export interface PipeOptions {
  echo: boolean;
  colour: boolean;
  /** After stdin ends: how long the server must be quiet before tschat closes, and the most it waits. */
  quietMs?: number;
  maxWaitMs?: number;
}

/**
 * tschat for scripts (stdin or stdout not a terminal). Each stdin line is sent as it comes,
 * empty ones too (an empty answer to `login [alice]: ` means alice). Each complete server
 * line is printed without its CR; prompts are not printed, as nobody is there to read them.
 * At the end of stdin tschat waits for the answers (until the server has been quiet for a
 * moment), then closes and exits 0. `/quit` in chat is sent and its `* bye` awaited; with
 * --echo it only ends the input. If the server closes the connection unasked, the exit
 * code is 1. Resolves with the exit code.
 */
export function runPipe(socket: net.Socket, opts: PipeOptions): Promise<number> {
  const quietMs = opts.quietMs ?? 500;
  const maxWaitMs = opts.maxWaitMs ?? 5000;
  return new Promise((resolve) => {
    const splitter = new LineSplitter({ prompts: !opts.echo });
    const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    let inputDone = false;
    let quitSent = false;
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;

    const print = (line: string) => process.stdout.write(`${opts.colour ? colourise(line) : line}\n`);

    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      clearTimeout(deadline);
      if (message) process.stderr.write(`${message}\n`);
      input.close();
      socket.end();
      resolve(code);
    };

    const waitForQuiet = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(0), quietMs);
    };

    const endInput = () => {
      if (inputDone) return;
      inputDone = true;
      input.close();
      deadline = setTimeout(() => finish(0), maxWaitMs);
      if (!quitSent) waitForQuiet();
    };

    let heard = false;
    socket.on("data", (chunk: Buffer) => {
      heard = true;
      for (const line of splitter.push(chunk)) print(line);
      if (inputDone && !quitSent) waitForQuiet();
    });
    socket.on("close", () => {
      const last = splitter.end();
      if (last !== null) print(last);
      if (quitSent) finish(0);
      else finish(1, opts.echo ? SERVER_CLOSED : serverClosed(socket, heard));
    });

    input.on("line", (line) => {
      if (inputDone) return;
      if (isQuit(line)) {
        if (!opts.echo) {
          sendLine(socket, line);
          quitSent = true; // the server answers `* bye` and closes
        }
        endInput();
        return;
      }
      sendLine(socket, line);
    });
    input.on("close", endInput);
  });
}
