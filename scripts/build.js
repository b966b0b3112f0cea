#!/usr/bin/env node
// Builds dist/: the JavaScript an installed package runs (Node does not strip types under
// node_modules). Runs on prepack, so `npm pack` always ships a fresh build; `npm run build`
// runs it by hand. tsc comes from node_modules/.bin, which npm puts first on PATH.
import { spawnSync } from "node:child_process";
import fs from "node:fs";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);

fs.rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync("tsc", ["-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
  shell: process.platform === "win32",
});
if (tsc.error) {
  console.error(`build: cannot run tsc: ${tsc.error.message} (run it through npm: npm run build)`);
  process.exit(1);
}
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// The version readers (daemon/primary, ctl/version, client/version) read ../package.json
// next to their directory: in dist/ that is dist/package.json. It also marks dist/ as ESM.
const pkg = JSON.parse(fs.readFileSync(new URL("package.json", root), "utf8"));
const stub = { name: pkg.name, version: pkg.version, private: true, type: "module" };
fs.writeFileSync(new URL("package.json", dist), `${JSON.stringify(stub, null, 2)}\n`);
for (const dir of ["daemon", "ctl", "client"]) {
  if (!fs.existsSync(new URL(`${dir}/main.js`, dist))) {
    console.error(`build: dist/${dir}/main.js is missing`);
    process.exit(1);
  }
}
console.log(`build: dist/ for ${pkg.name} ${pkg.version}`);
