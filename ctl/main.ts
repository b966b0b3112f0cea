import {
  answerCompletion,
  type CtlIo,
  type CtlSession,
  globalOptionsProblem,
  isShellLine,
  runCli,
  wantsJson,
} from "./cli.ts";
import { COMPLETION_KEY } from "./commands/completion.ts";
import { ExitCode, errorJson } from "./errors.ts";
import { runShell } from "./shell.ts";

// A reader that went away (`tsctl logs -f | head -1`) ends tsctl quietly: it got what it wanted.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

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

let code: number = ExitCode.ok;
if (argv.includes(COMPLETION_KEY)) {
  await answerCompletion(argv, io.out);
} else if (isShellLine(argv)) {
  const problem = globalOptionsProblem(argv);
  if (problem) {
    io.err(wantsJson(argv) ? errorJson(problem) : `tsctl: ${problem.message}`);
    code = problem.exitCode;
  } else {
    session.defaults = argv;
    code = await runShell({
      input: process.stdin,
      output: process.stdout,
      errors: process.stderr,
      terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
      session,
    });
  }
} else {
  code = await runCli(argv, io, session);
}
(await session.client?.catch(() => null))?.close();
process.exitCode = code;
