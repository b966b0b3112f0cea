import test from "ava";
import type { Options } from "yargs";
import { LIVE_OPTIONS } from "../../daemon/primary/live-settings.ts";
import { DAEMON_OPTIONS } from "../../daemon/primary/options.ts";
import { MAN_PAGES, stalePages } from "../../scripts/man-pages.ts";

const page = () => MAN_PAGES.find((p) => p.file === "man/tsd-daemon.8")!.render();

test("tsd-daemon(8) - the committed page is what the option table renders (npm run man when this fails)", (t) => {
  t.false(stalePages().includes("man/tsd-daemon.8"));
});

test("tsd-daemon(8) - names every option of tsd-daemon --help, and the live ones as live", (t) => {
  const text = page();
  for (const [name, spec] of Object.entries(DAEMON_OPTIONS as Record<string, Options>)) {
    if (spec.hidden) continue;
    const flag = spec.type === "boolean" && spec.default === true ? `no-${name}` : name;
    t.true(text.includes(`\\fB\\-\\-${flag.replaceAll("-", "\\-")}\\fR`), flag);
  }
  for (const name of ["config", "version", "help"]) t.true(text.includes(`\\fB\\-\\-${name}\\fR`), name);
  const live = text.slice(text.indexOf(".SH LIVE SETTINGS"));
  for (const name of LIVE_OPTIONS) t.true(live.includes(`\\-\\-${name.replaceAll("-", "\\-")}`), name);
});
