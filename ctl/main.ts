import { type CtlIo, type CtlSession, runCli } from "./cli.ts";
import { runShell } from "./shell.ts";

const argv = process.argv.slice(2);
const session: CtlSession = {};
const io: CtlIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interactive: Boolean(process.stdin.isTTY),
  confirm: async (question) => {
    const { createInterface } = await import("node:readline/promises");
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(question);
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
  },
  interrupted: () => new Promise((resolve) => process.once("SIGINT", () => resolve())),
};

/** Only global options and no command: the interactive shell, with those options for every line. */
const onlyGlobals = (args: string[]) =>
  args.every((a, i) => a.startsWith("--") || (i > 0 && ["--socket", "--timeout"].includes(args[i - 1]!)));
let code: number;
if (onlyGlobals(argv) && !argv.includes("--help") && !argv.includes("--version")) {
  session.defaults = argv;
  code = await runShell({
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    session,
  });
} else {
  code = await runCli(argv, io, session);
}
(await session.client?.catch(() => null))?.close();
process.exitCode = code;
