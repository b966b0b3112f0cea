// Plain JavaScript, for `tsd-daemon --print-unit`: it runs on any Node, before any check.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { bundledNode, nodePackageName } from "./bundled-node.js";

/** The shipped unit's ExecStart, whose command this install's paths replace. */
const EXEC_START = /^ExecStart=\S+ \S+ (.*)$/m;

/** Quotes one word of a unit's command line: systemd expands % specifiers and $ variables there. */
export function unitWord(word) {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[\w./+@:,=-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The unit text with ExecStart running daemonScript on node, the shipped options kept. */
export function renderUnit(template, node, daemonScript) {
  if (!EXEC_START.test(template)) throw new Error("the unit template has no ExecStart=NODE SCRIPT ... line");
  const header = `# Written by \`tsd-daemon --print-unit\` for the tsd in ${daemonScript.replace(/\/bin\/tsd-daemon\.js$/, "")}.\n`;
  return (
    header +
    template.replace(
      EXEC_START,
      (_, options) => `ExecStart=${unitWord(node)} ${unitWord(daemonScript)} ${options}`,
    )
  );
}

/** Prints the unit for this install to stdout: `tsd-daemon --print-unit > /etc/systemd/system/tsd.service`. */
export function printUnit(extra) {
  if (extra.length > 0) {
    console.error(
      `tsd-daemon: --print-unit takes no other argument (got ${extra.join(" ")}); settings go in a drop-in (systemctl edit tsd)`,
    );
    process.exit(2);
  }
  const node = bundledNode();
  if (!node) {
    console.error(
      `tsd-daemon: this install has no Node of its own (${nodePackageName()}): reinstall the package without --omit=optional`,
    );
    process.exit(1);
  }
  const template = fs.readFileSync(new URL("../systemd/tsd.service", import.meta.url), "utf8");
  const script = fs.realpathSync(fileURLToPath(new URL("tsd-daemon.js", import.meta.url)));
  process.stdout.write(renderUnit(template, fs.realpathSync(node), script));
}
