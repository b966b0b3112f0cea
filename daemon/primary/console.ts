import { entryFile } from "../shared/entry-file.ts";
import type { Log } from "./log/logger.ts";

/** What the console needs of the tsctl shell, which is loaded only when --console asks for it. */
interface ConsoleShell {
  runShell(opts: {
    input: NodeJS.ReadableStream;
    output: NodeJS.WritableStream;
    errors: NodeJS.WritableStream;
    terminal: boolean;
    session: { defaults: string[] };
  }): Promise<number>;
}

/**
 * The operator's console: the tsctl shell on the daemon's own terminal, talking to its own
 * socket. It never rejects: a console that fails is logged and the daemon goes on.
 */
export async function startConsole(socketPath: string, log: Log): Promise<void> {
  if (!process.stdin.isTTY) {
    log("warn", "--console needs a terminal on stdin; no console");
    return;
  }
  try {
    const { runShell } = (await import(entryFile("../../ctl/shell", import.meta.url).href)) as ConsoleShell;
    await runShell({
      input: process.stdin,
      output: process.stdout,
      errors: process.stderr,
      terminal: true,
      session: { defaults: ["--socket", socketPath] },
    });
  } catch (error) {
    log("error", `the console failed; the daemon goes on: ${String(error)}`);
    return;
  }
  process.stdin.pause();
  log("info", "console closed; the daemon goes on (tsctl stop ends it)");
}
