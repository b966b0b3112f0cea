// Plain JavaScript on purpose: it must run, and explain itself, on a Node too old to load TypeScript.
//
// start(dir) loads the entry point of dir (daemon, ctl, client): the TypeScript source when it
// is there (a checkout, run on a Node that strips types), otherwise the JavaScript built into
// dist/ by `npm run build` (an installed package: the tarball carries dist/ and no sources, and
// Node does not strip types under node_modules anyway). The source wins over a dist/ left
// behind by `npm pack`, so a checkout never runs stale compiled code.
import fs from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
const recentEnough = major > 22 || (major === 22 && minor >= 12);

function refuse(message) {
  console.error(`${process.argv0}: ${message}`);
  process.exit(1);
}

/** Imports the entry point of dir, after checking that this Node can run it. */
export async function start(dir) {
  const source = new URL(`../${dir}/main.ts`, import.meta.url);
  const built = new URL(`../dist/${dir}/main.js`, import.meta.url);
  const hasSource = fs.existsSync(source);
  if (!recentEnough) {
    refuse(
      hasSource
        ? `tsd needs Node.js 22.12 or newer with type stripping (this is ${process.version}); run it through npm (npm start, npx tsd-daemon), which uses the project's own Node 24.`
        : `tsd needs Node.js 22.12 or newer (this is ${process.version}); put a newer node first on PATH.`,
    );
  }
  if (hasSource && process.features.typescript) return import(source.href);
  if (fs.existsSync(built)) return import(built.href);
  if (hasSource) {
    refuse(
      `tsd needs type stripping to run from the sources (Node ${process.version} has it off; Node 22.18 and later have it on), or a build: npm run build.`,
    );
  }
  refuse(`tsd is incomplete: neither ${source.pathname} nor ${built.pathname} exists (run npm run build).`);
}
