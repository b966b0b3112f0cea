// Plain JavaScript on purpose: it must run, and explain itself, on a Node too old to run tsd
// (Debian 12 and Ubuntu 24.04 ship Node 18, many machines have Node 20).
//
// start(dir) loads the entry point of dir (daemon, ctl, client): the TypeScript source when it
// is there (a checkout, run on a Node that strips types), otherwise the JavaScript built into
// dist/ by `npm run build` (an installed package: the tarball carries dist/ and no sources, and
// Node does not strip types under node_modules anyway). The source wins over a dist/ left
// behind by `npm pack`, so a checkout never runs stale compiled code.
//
// On a Node older than 22.12 it runs the same command again on the Node the package brings (an
// optional dependency per platform, see bundled-node.js), so a global install works whatever
// `node` is first on PATH.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { bundledNode, nodePackageName } from "./bundled-node.js";

const [major, minor] = process.versions.node.split(".").map(Number);
const recentEnough = major > 22 || (major === 22 && minor >= 12);

function refuse(message) {
  console.error(`${process.argv0}: ${message}`);
  process.exit(1);
}

/** Imports the entry point of dir, on this Node when it can run it, else on the package's own. */
export async function start(dir) {
  if (!recentEnough) return rerunOn(bundledNode());
  const source = new URL(`../${dir}/main.ts`, import.meta.url);
  const built = new URL(`../dist/${dir}/main.js`, import.meta.url);
  const hasSource = fs.existsSync(source);
  if (hasSource && process.features.typescript) return import(source.href);
  if (fs.existsSync(built)) return import(built.href);
  if (hasSource) {
    refuse(
      `tsd needs type stripping to run from the sources (Node ${process.version} has it off; Node 22.18 and later have it on), or a build: npm run build.`,
    );
  }
  refuse(`tsd is incomplete: neither ${source.pathname} nor ${built.pathname} exists (run npm run build).`);
}

// Signals a person or a supervisor sends to this process go on to the command. SIGINT and SIGQUIT
// typed on a terminal already reach both processes (one foreground process group), so they are
// passed on only when not on a terminal, never twice.
const FORWARDED = ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR2"];
const TERMINAL_SIGNALS = new Set(["SIGINT", "SIGQUIT"]);

/** Runs this command again on node, with the same arguments and standard streams, and ends as it ends. */
function rerunOn(node) {
  if (!node || node === process.execPath) {
    refuse(
      `tsd needs Node.js 22.12 or newer (this is ${process.version}) and its own Node (${nodePackageName()}) is not installed: reinstall the package without --omit=optional, or put a newer node first on PATH.`,
    );
  }
  const child = spawn(node, [process.argv[1], ...process.argv.slice(2)], { stdio: "inherit" });
  const onTerminal = Boolean(process.stdin.isTTY);
  const forwarders = FORWARDED.map((signal) => {
    const forward = () => {
      if (!(onTerminal && TERMINAL_SIGNALS.has(signal))) child.kill(signal);
    };
    process.on(signal, forward);
    return [signal, forward];
  });
  return new Promise(() => {
    child.once("error", (error) => refuse(`cannot run ${node}: ${error.message}`));
    child.once("exit", (code, signal) => {
      for (const [name, forward] of forwarders) process.off(name, forward);
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}
