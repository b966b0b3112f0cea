import { runCli } from "./cli.ts";

const io = {
  out: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
  interactive: Boolean(process.stdin.isTTY),
};
const shared: Parameters<typeof runCli>[2] = {};
const code = await runCli(process.argv.slice(2), io, shared);
(await shared.client?.catch(() => null))?.close();
process.exitCode = code;
