import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { parseDaemonOptions } from "../../daemon/primary/options.ts";
import { tempDir } from "../helpers/daemon.ts";

test.afterEach.always(() => {
  delete process.env.TSD_RESERVED_NAMES;
});

test.serial(
  "options - --reserved-names is a comma-separated list of names, in NFKC display form",
  async (t) => {
    t.deepEqual((await parseDaemonOptions([])).reservedNames, []);
    const opts = await parseDaemonOptions(["--reserved-names", "moderator, Админ,,Ｒｏｏｔ"]);
    t.deepEqual(opts.reservedNames, ["moderator", "Админ", "Root"]);
  },
);

test.serial("options - reserved names from TSD_RESERVED_NAMES and from the config file", async (t) => {
  const dir = tempDir();
  try {
    const config = path.join(dir, "tsd.json");
    fs.writeFileSync(config, JSON.stringify({ "reserved-names": ["sysop", "helpdesk"] }));
    t.deepEqual((await parseDaemonOptions(["--config", config])).reservedNames, ["sysop", "helpdesk"]);
    fs.writeFileSync(config, JSON.stringify({ "reserved-names": "sysop,helpdesk" }));
    t.deepEqual((await parseDaemonOptions(["--config", config])).reservedNames, ["sysop", "helpdesk"]);
    process.env.TSD_RESERVED_NAMES = "root,admin";
    t.deepEqual(
      (await parseDaemonOptions(["--config", config])).reservedNames,
      ["root", "admin"],
      "env wins",
    );
    t.deepEqual((await parseDaemonOptions(["--reserved-names", "x"])).reservedNames, ["x"], "the flag wins");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
