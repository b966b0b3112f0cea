import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { COMMANDS, GLOBAL_OPTIONS } from "../../ctl/cli.ts";
import { commandName } from "../../ctl/usage.ts";
import { MAN_PAGES, stalePages } from "../../scripts/man-pages.ts";
import { ROOT } from "../helpers/daemon.ts";

test("man pages - each committed page is what its definitions render (run npm run man when this fails)", (t) => {
  t.deepEqual(stalePages(), []);
});

test("man pages - every page is shipped: package.json lists it", (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { man: string[] };
  for (const page of MAN_PAGES) t.true(pkg.man.includes(page.file), page.file);
});

test("man pages - tsctl(8) names every command and every global option", (t) => {
  const page = MAN_PAGES.find((p) => p.file === "man/tsctl.8")!.render();
  for (const cmd of COMMANDS) t.true(page.includes(`\\fB${commandName(cmd)}\\fR`), commandName(cmd));
  for (const option of Object.keys(GLOBAL_OPTIONS)) t.true(page.includes(`\\fB\\-\\-${option}\\fR`), option);
});
