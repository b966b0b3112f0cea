import fs from "node:fs";
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
    port: { coerce: port, describe: "server port [4040, 4041 with --tls, 4007 with --echo]" },
    echo: { type: "boolean", default: false, describe: "use the echo service instead of chat" },
    tls: { type: "boolean", default: false, describe: "chat over TLS (the server's --tls-port)" },
    ca: {
      type: "string",
      implies: "tls",
      describe: "trust the certificates in this PEM file (a self-signed server's) instead of the system's",
    },
    insecure: {
      type: "boolean",
      implies: "tls",
      describe: "with --tls, accept any certificate: encrypted, but not safe from a man in the middle",
    },
  })
  .check((argv) => {
    if (argv.tls && argv.echo) throw new Error("--tls is for chat: the echo service is plain TCP");
    return true;
  })
  .version(CLIENT_VERSION)
  .strict()
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .parseAsync();

const host = args.host;
const portNumber = args.port ?? (args.echo ? 4007 : args.tls ? 4041 : 4040);
let code: number;
try {
  const secure = args.tls
    ? { ca: args.ca === undefined ? undefined : readCa(args.ca), insecure: args.insecure === true }
    : undefined;
  const socket = await connect(host, portNumber, secure);
  const colour = colourWanted(process.stdout, process.env);
  code =
    process.stdin.isTTY && process.stdout.isTTY
      ? await runTerminal(socket, { echo: args.echo, colour })
      : await runPipe(socket, { echo: args.echo, colour });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  code = 1;
}
/** The --ca file, or an error naming it. */
function readCa(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`tschat: cannot read --ca ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

// stdin may still be open (a pipe nobody closed): exit rather than wait for it.
process.exit(code);
