/**
 * Writes the manual pages under man/ from the definitions the programs use, so a page never
 * drifts from --help: `npm run man` writes them; `npm run man -- --check` exits 1 naming each page
 * that differs (test/unit/ctl-man-page.test.ts asks the same). A page is one entry of MAN_PAGES:
 * its file and the function that renders it (scripts/man/<program>.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tsctlPage } from "./man/tsctl.ts";
import { tsdDaemonPage } from "./man/tsd-daemon.ts";

export interface ManPage {
  /** The page's path in the checkout, as package.json "man" lists it. */
  file: string;
  render(): string;
}

export const MAN_PAGES: readonly ManPage[] = [
  { file: "man/tsctl.8", render: tsctlPage },
  { file: "man/tsd-daemon.8", render: tsdDaemonPage },
];

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The pages whose committed file is not what its definitions render now. */
export function stalePages(root = ROOT): string[] {
  return MAN_PAGES.filter((page) => {
    const committed = fs.existsSync(path.join(root, page.file))
      ? fs.readFileSync(path.join(root, page.file), "utf8")
      : "";
    return committed !== page.render();
  }).map((page) => page.file);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    const stale = stalePages();
    for (const file of stale) console.error(`${file} differs from its definitions: run npm run man`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const page of MAN_PAGES) {
      fs.writeFileSync(path.join(ROOT, page.file), page.render());
      console.log(`wrote ${page.file}`);
    }
  }
}
