import yargs from "yargs";
import { colourWanted } from "./colour.ts";
import { connect } from "./connection.ts";
import { runPipe } from "./pipe-mode.ts";
import { runTerminal } from "./terminal.ts";
import { CLIENT_VERSION } from "./version.ts";

function port(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error("--port must be an integer 1-65535");
  return n;
}

const args = await yargs(process.argv.slice(2))
  .scriptName("tschat")
  .usage(
    "$0 [options]\n\nChat on a tsd server (or, with --echo, talk to its echo service).\n" +
      "On a terminal: an interactive client. In a pipe: stdin lines are sent, server lines printed.",
  )
  .options({
    host: { type: "string", default: "127.0.0.1", describe: "server address" },
    port: { coerce: port, describe: "server port [4040, or 4007 with --echo]" },
    echo: { type: "boolean", default: false, describe: "use the echo service instead of chat" },
  })
  .version(CLIENT_VERSION)
  .strict()
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .parseAsync();

const host = args.host;
const portNumber = args.port ?? (args.echo ? 4007 : 4040);
let code: number;
try {
  const socket = await connect(host, portNumber);
  const colour = colourWanted(process.stdout, process.env);
  code =
    process.stdin.isTTY && process.stdout.isTTY
      ? await runTerminal(socket, { echo: args.echo, colour })
      : await runPipe(socket, { echo: args.echo, colour });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  code = 1;
}
// stdin may still be open (a pipe nobody closed): exit rather than wait for it.
process.exit(code);
