/**
 * Live settings through the real tsctl: config get/set reach every session thread at once,
 * sessions already signed in included; a restart-only option and a bad value change nothing.
 */
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

/** tsctl --json config get: the options in force. */
async function configGet(daemon: RunningDaemon): Promise<Record<string, unknown>> {
  const got = await daemon.tsctl(["--json", "config", "get"]);
  if (got.code !== 0) throw new Error(`config get failed: ${got.stderr}`);
  return JSON.parse(got.stdout) as Record<string, unknown>;
}

function logText(daemon: RunningDaemon): string {
  return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
}

test("live settings - config get shows every option in force by its command-line name", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--flood-rate", "7"]);
  t.teardown(() => daemon.cleanup());
  const values = await configGet(daemon);
  t.is(values["flood-rate"], 7);
  t.is(values["max-line"], 4096);
  t.is(values["log-level"], "info");
  t.false("floodRate" in values, "command-line names only");
  const one = await daemon.tsctl(["config", "get", "flood-rate"]);
  t.is(one.code, 0, one.stderr);
  t.is(one.stdout.trim(), "7");
  const queue = await daemon.tsctl(["config", "set", "flood-queue", "5"]);
  t.is(queue.code, 0, queue.stderr);
  t.is((await configGet(daemon))["flood-queue"], 5);
  const unknown = await daemon.tsctl(["config", "get", "flood-rat"]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /flood-rat is not an option/);
});

test("live settings - config set flood-rate takes effect for a user already signed in, on every thread", async (t) => {
  const daemon = await startDaemon([
    ...shape(1, 2),
    "--no-echo",
    "--max-per-address",
    "0",
    "--flood-burst",
    "3",
    "--flood-rate",
    "0",
  ]);
  t.teardown(() => daemon.cleanup());
  const alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");
  const bob = await ChatClient.connect(daemon.chatPort);
  await bob.register("bob", "secret1");
  t.teardown(() => {
    alice.close();
    bob.close();
  });

  // No flood control: a burst of 12 lines all reach bob at once.
  alice.write(Array.from({ length: 12 }, (_, i) => `free ${i}\r\n`).join(""));
  await bob.line(/<alice> free 11/);
  t.false(alice.all.includes("slow down"));

  const set = await daemon.tsctl(["config", "set", "flood-rate", "1"]);
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /flood-rate: 0 -> 1/);
  t.is((await configGet(daemon))["flood-rate"], 1);

  // The same user, same connection: now three lines at once, then one a second. Lines past the
  // burst are dropped ("! slow down") or wait their turn in the flood queue: either way the
  // eighth cannot reach bob within 3 s of the first (at 1/s it needs 5 s at least).
  const sentAt = Date.now();
  alice.write(Array.from({ length: 8 }, (_, i) => `limited ${i}\r\n`).join(""));
  const outcome = await Promise.race([
    alice.line(/! slow down/, 30_000).then(() => "dropped"),
    bob.line(/<alice> limited 7/, 30_000).then(() => "queued"),
  ]);
  if (outcome === "queued") t.true(Date.now() - sentAt >= 3000, "the lines past the burst waited");
  else t.false(bob.all.includes("<alice> limited 7"), "the lines past the burst were dropped");
  await waitFor(
    () => /setting changed key=flood-rate value=1 previous=0/.test(logText(daemon)),
    15_000,
    "the change logged",
  );
});

test("live settings - config set max-line applies to a session already open", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--max-line", "64"]);
  t.teardown(() => daemon.cleanup());
  const alice = await ChatClient.connect(daemon.chatPort);
  const bob = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => {
    alice.close();
    bob.close();
  });
  await alice.register("alice", "secret1");
  await bob.register("bob", "secret1");
  alice.send("x".repeat(100));
  await alice.line(/! line too long \(limit 64 bytes\)/);

  const set = await daemon.tsctl(["config", "set", "max-line", "200"]);
  t.is(set.code, 0, set.stderr);
  alice.send(`${"y".repeat(100)} end`);
  await bob.line(new RegExp(`<alice> ${"y".repeat(100)} end`));
  alice.send("z".repeat(300));
  await alice.line(/! line too long \(limit 200 bytes\)/);
});

test("live settings - config set log-level debug logs message bodies from then on; back to info stops them", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo"]);
  t.teardown(() => daemon.cleanup());
  const alice = await ChatClient.connect(daemon.chatPort);
  const bob = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => {
    alice.close();
    bob.close();
  });
  await alice.register("alice", "secret1");
  await bob.register("bob", "secret1");
  alice.send("before-debug");
  await bob.line(/<alice> before-debug/);

  t.is((await daemon.tsctl(["config", "set", "log-level", "debug"])).code, 0);
  alice.send("while-debug");
  await waitFor(() => logText(daemon).includes("while-debug"), 15_000, "the body at debug level");

  t.is((await daemon.tsctl(["config", "set", "log-level", "info"])).code, 0);
  alice.send("after-debug");
  await bob.line(/<alice> after-debug/);
  t.is((await daemon.tsctl(["announce", "flush-marker"])).code, 0);
  await waitFor(() => logText(daemon).includes("flush-marker"), 15_000, "a later record");
  const log = logText(daemon);
  t.false(log.includes("before-debug"), "no body at info");
  t.false(log.includes("after-debug"), "none once back at info");
});

test("live settings - a restart-only option is refused with needsRestart; a bad value is refused; nothing changes", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo"]);
  t.teardown(() => daemon.cleanup());
  const before = await configGet(daemon);

  const restart = await daemon.tsctl(["config", "set", "workers", "4"]);
  t.is(restart.code, 1);
  t.regex(restart.stderr, /workers needs a restart/);
  const answer = await callRpc(daemon.socket, "config.set", { key: "workers", value: 4 });
  t.is(answer.error?.code, -32007, "needsRestart");

  for (const [key, value, why] of [
    ["flood-rate", "-1", /--flood-rate must be an integer 0-/],
    ["max-line", "ten", /--max-line must be an integer 16-/],
    ["log-level", "loud", /--log-level must be one of error, warn, info, debug/],
    ["output-limit", "100", /--output-limit must be an integer 4096-/],
  ] as const) {
    const bad = await daemon.tsctl(["config", "set", key, value]);
    t.is(bad.code, 1, `${key} ${value}`);
    t.regex(bad.stderr, why);
  }
  const unknown = await callRpc(daemon.socket, "config.set", { key: "flood-rat", value: 1 });
  t.is(unknown.error?.code, -32008, "unknownOption");
  const nothing = await callRpc(daemon.socket, "config.set", { key: "flood-rate", value: null });
  t.is(nothing.error?.code, -32602, "a null value is not 0");
  for (const value of [[], [""], "0x10", true])
    t.is(
      (await callRpc(daemon.socket, "config.set", { key: "max-per-address", value })).error?.code,
      -32602,
      `${JSON.stringify(value)} is not a number of connections (Number() reads [] as 0: no cap)`,
    );
  t.deepEqual(await configGet(daemon), before, "nothing changed");
});

test("live settings - a session thread restarted after a crash runs with the values in force, not those it was forked with", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--max-line", "64", "--debug-faults"]);
  t.teardown(() => daemon.cleanup());
  t.is((await daemon.tsctl(["config", "set", "max-line", "200"])).code, 0);
  const crashed = await callRpc(daemon.socket, "debug.crashThread", { worker: 1, thread: 1 });
  t.falsy(crashed.error);
  await waitFor(
    () => (logText(daemon).match(/session thread connected/g) ?? []).length >= 2,
    20_000,
    "the thread's restart",
  );
  // Until the fresh thread listens, a connection may be refused.
  const carol = await waitFor(
    () => ChatClient.connect(daemon.chatPort).catch(() => null),
    20_000,
    "the restarted thread's listener",
  );
  t.teardown(() => carol.close());
  await carol.register("carol", "secret1");
  carol.send("w".repeat(300));
  await carol.line(/! line too long \(limit 200 bytes\)/);
});

test("reload - re-reads the config file's live options (a flag still wins), reopens the log, rereads the motd; SIGHUP does the same", async (t) => {
  const dir = tempDir();
  const config = path.join(dir, "tsd.json");
  const motd = path.join(dir, "motd.txt");
  fs.writeFileSync(config, JSON.stringify({ "max-line": 64, "flood-rate": 9 }));
  fs.writeFileSync(motd, "hello\n");
  const daemon = await startDaemon(
    [...shape(1, 1), "--no-echo", "--config", config, "--flood-rate", "3", "--motd", motd],
    { dir },
  );
  t.teardown(() => daemon.cleanup());
  t.is((await configGet(daemon))["max-line"], 64);
  t.is((await configGet(daemon))["flood-rate"], 3, "the flag wins over the file");

  fs.writeFileSync(config, JSON.stringify({ "max-line": 100, "flood-rate": 9, "history-keep": 600 }));
  const log = path.join(daemon.logDir, "tsd.log");
  fs.renameSync(log, `${log}.1`);
  const reloaded = await daemon.tsctl(["reload"]);
  t.is(reloaded.code, 0, reloaded.stderr);
  t.regex(reloaded.stdout, /reloaded: config, log, motd/);
  const values = await configGet(daemon);
  t.is(values["max-line"], 100);
  t.is(values["flood-rate"], 3, "still the flag's");
  t.is(values["history-keep"], 1000, "a restart-only option waits for the restart");
  await waitFor(
    () => fs.existsSync(log) && /reloaded steps=config,log,motd/.test(logText(daemon)),
    15_000,
    "the reopened log",
  );
  t.regex(
    daemon.stdout(),
    /options that need a restart.*options=history-keep/,
    "logged before the reopen: on stdout",
  );

  fs.writeFileSync(config, JSON.stringify({ "max-line": 120 }));
  daemon.proc.kill("SIGHUP");
  const maxLine = async () =>
    ((await callRpc(daemon.socket, "config.get", { key: "max-line" })).result as Record<string, unknown>)[
      "max-line"
    ];
  await waitFor(async () => (await maxLine()) === 120, 15_000, "max-line 120 after SIGHUP");
  await waitFor(
    () => /reloaded steps=config,log,motd by=SIGHUP/.test(logText(daemon)),
    15_000,
    "the SIGHUP's reload in the log",
  );
});

test("reload - a broken config file (not JSON, a bad value, gone) fails with a clear error and changes nothing", async (t) => {
  const dir = tempDir();
  const config = path.join(dir, "tsd.json");
  fs.writeFileSync(config, JSON.stringify({ "max-line": 64 }));
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--config", config], { dir });
  t.teardown(() => daemon.cleanup());
  const before = await configGet(daemon);

  fs.writeFileSync(config, '{\n  "max-line": 100,\n  "flood-rate": 2,\n}\n');
  const notJson = await daemon.tsctl(["reload"]);
  t.is(notJson.code, 1);
  t.regex(notJson.stderr, /reload failed: config: config file .*tsd\.json: not JSON at line 4, column 1/);
  t.regex(notJson.stderr, /nothing was changed/);

  fs.writeFileSync(config, JSON.stringify({ "max-line": 100, "flood-rate": -2 }));
  const badValue = await daemon.tsctl(["reload"]);
  t.is(badValue.code, 1);
  t.regex(badValue.stderr, /--flood-rate must be an integer 0-/);

  fs.rmSync(config);
  const gone = await daemon.tsctl(["reload"]);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /tsd\.json not found/);
  const answer = await callRpc(daemon.socket, "reload");
  t.is(answer.error?.code, -32009, "reloadFailed");
  t.deepEqual(await configGet(daemon), before, "nothing changed: not max-line either");
});

test("reload - a config file that start would refuse (an unknown option, a bad value of a flag-given option) is refused by reload too, and changes nothing; an unchanged list is not a restart-only change", async (t) => {
  const dir = tempDir();
  const config = path.join(dir, "tsd.json");
  fs.writeFileSync(config, JSON.stringify({ "max-line": 64, "reserved-names": ["bob"] }));
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--config", config], { dir });
  t.teardown(() => daemon.cleanup());
  const before = await configGet(daemon);

  // A typo: at start this file is bad usage (exit 2); a reload that took the rest of it would leave a daemon that cannot restart.
  fs.writeFileSync(config, '{\n  "max-line": 100,\n  "flod-burst": 3\n}\n');
  const typo = await daemon.tsctl(["reload"]);
  t.is(typo.code, 1, typo.stdout);
  t.regex(
    typo.stderr,
    /tsd\.json, line 3, column 3: "flod-burst" is not an option \(did you mean "flood-burst"\?\)/,
  );
  t.regex(typo.stderr, /nothing was changed/);

  // chat-port is given by flag, so the file's value is not used, but start checks it all the same.
  fs.writeFileSync(config, JSON.stringify({ "max-line": 100, "chat-port": "abc" }));
  const pinnedBad = await daemon.tsctl(["reload"]);
  t.is(pinnedBad.code, 1, pinnedBad.stdout);
  t.regex(pinnedBad.stderr, /--chat-port/);
  t.deepEqual(await configGet(daemon), before, "nothing changed: not max-line either");

  fs.writeFileSync(config, JSON.stringify({ "max-line": 100, "reserved-names": ["bob"] }));
  const good = await daemon.tsctl(["reload"]);
  t.is(good.code, 0, good.stderr);
  t.is((await configGet(daemon))["max-line"], 100);
  await waitFor(() => /reloaded steps=config/.test(daemon.stdout()), 15_000, "the reload in the log");
  t.notRegex(daemon.stdout(), /need a restart/, "reserved-names is as at start");
  t.notRegex(good.stdout, /restart/);
});

test("reload - tsctl reload says which options of the config file wait for a restart (--json: waitingForRestart)", async (t) => {
  const dir = tempDir();
  const config = path.join(dir, "tsd.json");
  fs.writeFileSync(config, JSON.stringify({ "max-line": 64 }));
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--config", config], { dir });
  t.teardown(() => daemon.cleanup());
  fs.writeFileSync(
    config,
    JSON.stringify({ "max-line": 100, "history-keep": 600, "registrations-per-hour": 5 }),
  );
  const reloaded = await daemon.tsctl(["reload"]);
  t.is(reloaded.code, 0, reloaded.stderr);
  t.regex(reloaded.stdout, /reloaded: config, log/);
  t.regex(reloaded.stdout, /not changed until a restart: history-keep, registrations-per-hour/);
  const json = JSON.parse((await daemon.tsctl(["--json", "reload"])).stdout) as Record<string, unknown>;
  t.deepEqual(json.waitingForRestart, ["history-keep", "registrations-per-hour"]);
  t.is((await configGet(daemon))["max-line"], 100, "the live option is applied all the same");

  fs.writeFileSync(config, JSON.stringify({ "max-line": 100 }));
  const back = await callRpc(daemon.socket, "reload");
  t.deepEqual(back.result, { reloaded: ["config", "log"] }, "nothing waits once the file is as in force");
});

test("rpc.discover - the real daemon lists every method it serves, each with its params and a line on what it does", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo"]);
  t.teardown(() => daemon.cleanup());
  const answer = await callRpc(daemon.socket, "rpc.discover");
  const methods = answer.result as { name: string; params: Record<string, string>; description: string }[];
  const names = methods.map((m) => m.name);
  for (const name of ["status", "config.get", "config.set", "reload", "rpc.discover", "bans.add", "metrics"])
    t.true(names.includes(name), name);
  t.false(names.includes("debug.crashThread"), "not without --debug-faults");
  t.like(
    methods.find((m) => m.name === "config.set"),
    { params: { key: "string" } },
  );
  t.true(methods.every((m) => m.description.length > 0));
});

test("live settings - config set max-per-address caps connections from then on, in the hub and every thread", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), "--no-echo", "--max-per-address", "0"]);
  t.teardown(() => daemon.cleanup());
  const first = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => first.close());
  await first.loginPrompt();
  t.is((await daemon.tsctl(["config", "set", "max-per-address", "1"])).code, 0);
  // Connections made while there was no cap were not counted; of the two after it, the second is
  // over. The third connects once the second is in: with two threads either could ask first.
  const second = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => second.close());
  await second.loginPrompt();
  const third = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => third.close());
  await third.line(/too many connections/i);
  await third.closedByServer();
});
