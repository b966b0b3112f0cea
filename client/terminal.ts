import type net from "node:net";
import readline from "node:readline";
import { Writable } from "node:stream";
import { colourise } from "./colour.ts";
import { isQuit, SERVER_CLOSED, sendLine, serverClosed } from "./connection.ts";
import { KnownNames } from "./known-names.ts";
import { LineSplitter } from "./line-splitter.ts";

export interface TerminalOptions {
  echo: boolean;
  colour: boolean;
}

const LOCAL_PROMPT = "> ";

/**
 * Interactive tschat on a terminal. The input line is owned by readline; a server line is
 * printed above it: the prompt and the half-typed input are wiped, the line written, and
 * both redrawn with the cursor where it was. The prompt is the server's pending one
 * (`login: `) or "> "; at a password prompt nothing typed is shown. Resolves with the exit code.
 */
export function runTerminal(socket: net.Socket, opts: TerminalOptions): Promise<number> {
  const out = process.stdout;
  return new Promise((resolve) => {
    // readline echoes through this; muted, it shows nothing (password typing).
    let muted = false;
    const screen = new Writable({
      write(chunk, _encoding, callback) {
        if (!muted) out.write(chunk);
        callback();
      },
    });
    Object.assign(screen, { isTTY: true });
    Object.defineProperty(screen, "columns", { get: () => out.columns });
    Object.defineProperty(screen, "rows", { get: () => out.rows });
    const onResize = () => screen.emit("resize");
    out.on("resize", onResize);

    const names = new KnownNames();
    let serverPrompt: string | null = null; // the prompt the server waits on, until it is answered
    const secret = () => serverPrompt?.endsWith("password: ") ?? false;
    // Tab completes names after /msg, /r, /ignore, /whois; never at a server prompt (a password).
    const completer = (line: string): [string[], string] =>
      opts.echo || serverPrompt !== null ? [[], line] : names.complete(line);
    const rl = readline.createInterface({ input: process.stdin, output: screen, terminal: true, completer });
    // A paste comes in one read. Node's readline takes its keys but the last with completion off,
    // and then only writes each one: no redraw of the text after the cursor, and the row the
    // cursor ends on is not noted, so the next redraw (Home, an insert, a line that arrives) starts
    // a row off and leaves the old input on the screen. Every key but a Tab (which must not
    // complete inside a paste) is given the normal path, which redraws as a typed key does.
    const onKeypress = (_text: string | undefined, key: { name?: string } | undefined) => {
      if (key?.name !== "tab") (rl as unknown as { isCompletionEnabled: boolean }).isCompletionEnabled = true;
    };
    process.stdin.prependListener("keypress", onKeypress);
    const splitter = new LineSplitter({ prompts: !opts.echo });
    let quitSent = false;
    let done = false;

    /** Wipes the prompt and input, which may wrap over several rows, from the screen. */
    const wipe = () => {
      if (!secret()) readline.moveCursor(out, 0, -rl.getCursorPos().rows);
      readline.cursorTo(out, 0);
      readline.clearScreenDown(out);
    };

    /** Draws the prompt and the input from the start of an empty row. */
    const draw = () => {
      // readline moves up by the rows it drew last time before redrawing; the wipe did that.
      (rl as unknown as { prevRows: number }).prevRows = 0;
      muted = secret();
      if (muted) {
        rl.setPrompt("");
        out.write(serverPrompt!);
      } else {
        rl.setPrompt(serverPrompt ?? LOCAL_PROMPT);
      }
      rl.prompt(true);
    };

    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      wipe();
      muted = false;
      out.off("resize", onResize);
      process.stdin.off("keypress", onKeypress);
      rl.close();
      socket.end();
      if (message) process.stderr.write(`${message}\n`);
      resolve(code);
    };

    let heard = false;
    socket.on("data", (chunk: Buffer) => {
      heard = true;
      const lines = splitter.push(chunk);
      const prompt = splitter.prompt;
      if (lines.length === 0 && (prompt === null || prompt === serverPrompt)) return;
      wipe();
      for (const line of lines) {
        if (!opts.echo) names.see(line);
        out.write(`${opts.colour ? colourise(line) : line}\r\n`);
      }
      if (prompt !== null) serverPrompt = prompt;
      draw();
    });
    socket.on("close", () => {
      const last = splitter.end();
      if (last !== null) {
        wipe();
        out.write(`${opts.colour ? colourise(last) : last}\r\n`);
      }
      if (quitSent) finish(0);
      else finish(1, opts.echo ? SERVER_CLOSED : serverClosed(socket, heard));
    });

    // A password must not be recalled with the up arrow.
    rl.on("history", (history: string[]) => {
      if (secret()) history.shift();
    });
    rl.on("line", (line) => {
      if (muted) out.write("\r\n"); // readline's own line end was muted
      const answering = serverPrompt !== null;
      serverPrompt = null;
      if (isQuit(line) && (opts.echo || answering)) {
        finish(0); // nothing to sign out of: just go
        return;
      }
      sendLine(socket, line);
      if (isQuit(line)) {
        quitSent = true; // the server answers `* bye` and closes
        setTimeout(() => finish(0), 3000).unref();
      }
      draw();
    });
    rl.on("SIGINT", () => finish(0));
    rl.on("close", () => finish(0)); // Ctrl-D on an empty line
    if (opts.echo) draw(); // the chat server's greeting and login prompt come first
  });
}
