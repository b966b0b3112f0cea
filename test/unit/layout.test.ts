import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ROOT } from "../helpers/daemon.ts";

/**
 * daemon/ has a folder per runtime (primary/, worker/, thread/) and shared/ for what several
 * of them use. A file in a runtime's folder imports only from that folder (and its sub-folders),
 * daemon/shared/ and protocol/; shared/ only from itself and protocol/; so what runs where is
 * readable from the path. The daemon never imports ctl/ or client/ (the console loads the shell
 * on demand).
 */
const RUNTIMES = ["primary", "worker", "thread", "shared"] as const;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** Every module a file names in an import or export, static or dynamic with a literal. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']/g))
    found.push(match[1]!);
  for (const match of text.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!);
  return found;
}

/** Where a daemon file lives: its runtime folder, or "root" for daemon/main.ts. */
function roomOf(rel: string): string {
  const [, first, second] = rel.split("/");
  return second === undefined ? "root" : first!;
}

function allowed(fromRoom: string, target: string): boolean {
  if (target.startsWith("protocol/")) return true;
  if (!target.startsWith("daemon/")) return false;
  const room = roomOf(target);
  if (fromRoom === "root") return room === "primary" || room === "shared";
  return room === fromRoom || room === "shared";
}

test("layout - each daemon folder imports only from itself, daemon/shared/ and protocol/", (t) => {
  const daemonDir = path.join(ROOT, "daemon");
  const offences: string[] = [];
  let checked = 0;
  for (const file of sources(daemonDir)) {
    const rel = path.relative(ROOT, file).split(path.sep).join("/");
    const room = roomOf(rel);
    if (room !== "root") t.true((RUNTIMES as readonly string[]).includes(room), `${rel}: a known folder`);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue; // node: built-ins and packages
      checked++;
      const target = path
        .relative(ROOT, path.resolve(path.dirname(file), spec))
        .split(path.sep)
        .join("/");
      if (!allowed(room, target)) offences.push(`${rel} imports ${target}`);
    }
  }
  t.true(checked > 50, `imports were read (${checked})`);
  t.deepEqual(offences, []);
});

test("layout - the import reader sees every form of import", (t) => {
  const dir = fs.mkdtempSync(path.join(ROOT, "test", ".layout-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "sample.ts");
  fs.writeFileSync(
    file,
    [
      'import a from "./a.ts";',
      'import type { B } from "../b.ts";',
      "import {\n  c,\n  d,\n} from './c.ts';",
      'export { e } from "./e.ts";',
      'import "./side-effect.ts";',
      'const f = await import("./f.ts");',
    ].join("\n"),
  );
  t.deepEqual(importsOf(file).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./side-effect.ts",
  ]);
});
