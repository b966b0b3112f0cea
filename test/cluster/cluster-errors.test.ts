import fs from "node:fs";
import path from "node:path";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { connect, freePort, NO_REDIS, register, rpc, startNode, TestRedis, who } from "./cluster-helpers.ts";

/**
 * What operators and users see while the cluster's Redis misbehaves: out of memory (maxmemory 1
 * with noeviction), a read-only replica (REPLICAOF toward a port where nothing listens), and down
 * (shutdown). The real tsctl gets one sentence naming the fault, exit 1 and control.md's --json
 * error, never Redis's or the client library's text; the daemon's log gets one line per failure
 * and no stack; chat users get the polite `! ` lines. A real redis-server and two real daemons.
 */
interface Context {
  redis: TestRedis;
  a: RunningDaemon;
  b: RunningDaemon;
  open: ChatClient[];
}
const test = anyTest as TestFn<Context>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";

/** The JSON-RPC code of an application error "unavailable" (protocol/rpc.ts), as --json prints it. */
const UNAVAILABLE = -32002;
/** What must never reach an operator or a user: the client library's or Redis's own words, a stack. */
const RAW =
  /OOM command|You can't write|maxmemory'|ECONNREFUSED|Socket closed|client is offline|@user_script|script: [0-9a-f]{40}|\n {4}at /;

test.before(async (t) => {
  t.context.open = [];
  if (NO_REDIS) return;
  const redis = new TestRedis();
  await redis.start();
  t.context.redis = redis;
  [t.context.a, t.context.b] = await Promise.all([startNode(redis, "a"), startNode(redis, "b")]);
  // An account to sign in with while Redis misbehaves.
  (await register(t.context.a, t.context.open, "cyd")).close();
});

test.afterEach.always((t) => {
  for (const client of t.context.open.splice(0)) client.close();
});

// Each test starts with Redis healthy again for both daemons: a test that stopped or refused it
// ends as soon as Redis is back, and on a busy machine a daemon can still be reconnecting then.
test.beforeEach(async (t) => {
  if (NO_REDIS) return;
  type Status = { cluster: { redis: { connected: boolean; fault?: string } } };
  for (const daemon of [t.context.a, t.context.b])
    await waitFor(
      async () => {
        const status = await rpc<Status>(daemon, "status").catch(() => null);
        return status?.cluster.redis.connected === true && status.cluster.redis.fault === undefined;
      },
      30_000,
      "both daemons connected to a healthy Redis before the test",
    );
});

test.after.always(async (t) => {
  await t.context.a?.cleanup();
  await t.context.b?.cleanup();
  await t.context.redis?.cleanup();
});

function logText(daemon: RunningDaemon): string {
  return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
}

/** The real tsctl refuses with sentence: stderr one line `tsctl: ...`, exit 1, and --json's error object. */
async function refused(t: ExecutionContext<Context>, args: string[], sentence: string): Promise<void> {
  const plain = await t.context.a.tsctl(args);
  t.is(plain.code, 1, `${args.join(" ")}: ${plain.stderr}`);
  t.is(plain.stderr, `tsctl: ${sentence}\n`, args.join(" "));
  t.is(plain.stdout, "");
  const json = await t.context.a.tsctl(["--json", ...args]);
  t.is(json.code, 1, `--json ${args.join(" ")}: ${json.stderr}`);
  t.deepEqual(JSON.parse(json.stderr), { error: { message: sentence, code: UNAVAILABLE, exitCode: 1 } });
}

/**
 * Users see the polite `! ` lines: a chat line is refused and never delivered, a sign-in and a
 * registration are refused; none of them sees Redis's words.
 */
async function usersSeePoliteLines(
  t: ExecutionContext<Context>,
  ann: ChatClient,
  tag: string,
): Promise<void> {
  ann.send(`${tag}: not to be delivered`);
  t.is(await ann.line(/^! /), "! the chat cannot be reached right now; your line was not sent");
  const signIn = await connect(t.context.b, t.context.open);
  t.regex(await refusedWhileTyping(signIn, "cyd"), /^! .*(right now|try again later)/);
  t.notRegex(signIn.all, /welcome back/, "a sign-in refused was welcomed first");
  const registration = await connect(t.context.b, t.context.open);
  t.regex(await refusedWhileTyping(registration, `new${tag}`), /^! .*(right now|try again later)/);
  for (const client of [ann, signIn, registration]) t.notRegex(client.all, RAW);
}

/** tsctl status names the fault (--json: cluster.redis.fault) while it lasts (the heartbeat meets it within a second). */
async function statusSays(
  t: ExecutionContext<Context>,
  fault: string | undefined,
  connected = !fault?.includes("cannot be reached"),
): Promise<void> {
  const status = await waitFor(
    async () => {
      const json = JSON.parse((await t.context.a.tsctl(["status", "--json"])).stdout);
      return json.cluster.redis.fault === fault ? json : null;
    },
    15_000,
    `status to say ${fault ?? "nothing is wrong"}`,
  );
  t.is(status.cluster.redis.connected, connected);
  const human = await t.context.a.tsctl(["status"]);
  t.is(human.code, 0);
  if (fault) t.true(human.stdout.includes(`\n  fault: ${fault}\n`), human.stdout);
  else t.false(human.stdout.includes("fault:"), human.stdout);
}

/**
 * Types a name and its password at each prompt until the daemon answers with a `! ` line (at the
 * name, when the account cannot be read; after the password, when it cannot be written): the line.
 */
async function refusedWhileTyping(client: ChatClient, name: string): Promise<string> {
  await client.loginPrompt();
  client.send(name);
  for (let step = 0; step < 3; step++) {
    const next = await waitFor(
      () => /(?:new |repeat )?password: |(?:^|\n)! /.exec(client.unread)?.[0],
      15_000,
      `${name}'s refusal`,
    );
    if (!next.includes("password: ")) break;
    await client.prompt(next);
    client.send("secret-pw1");
  }
  return client.line(/^! /);
}

/** Once Redis is back, a line from ann reaches bob (tried every half second, for at most 30 s). */
async function chatWorksAgain(ann: ChatClient, bob: ChatClient, tag: string): Promise<string> {
  let n = 0;
  return waitFor(
    async () => {
      ann.send(`${tag} back ${n++}`);
      return bob.line(new RegExp(`^<ann\\d?> (${tag}.*)$`), 500).catch(() => null);
    },
    30_000,
    `chat back after ${tag}`,
  );
}

/** The log has one line per refused control call, naming the fault in a sentence, and no stack anywhere. */
function logHasOneLinePerFault(t: ExecutionContext<Context>, sentence: string, methods: string[]): void {
  const log = logText(t.context.a);
  t.notRegex(log, /^\s+at /m, "no stack trace lines in the log");
  for (const method of methods)
    t.true(
      log.includes(`control method failed method=${method} error=${JSON.stringify(sentence)}`),
      `${method}: ${log.slice(-3000)}`,
    );
}

serial(`cluster errors - Redis out of memory: tsctl, the log and the users${why}`, async (t) => {
  const { redis } = t.context;
  const ann = await register(t.context.a, t.context.open, "ann");
  const bob = await register(t.context.b, t.context.open, "bob");
  await rpc(t.context.a, "bans.add", { target: "10.9.8.7" });
  await redis.cli("config", "set", "maxmemory", "1");
  try {
    const sentence = "the cluster's Redis refuses writes: out of memory (maxmemory)";
    await refused(t, ["announce", "hello"], sentence);
    await refused(t, ["ban", "10.1.1.1"], sentence);
    await refused(t, ["mute", "bob", "--for", "1h"], sentence);
    // Reads still work.
    t.is((await t.context.a.tsctl(["who"])).code, 0);
    t.is((await t.context.a.tsctl(["bans"])).code, 0);
    t.is((await t.context.a.tsctl(["identities", "list"])).code, 0);
    await statusSays(t, sentence);
    await usersSeePoliteLines(t, ann, "oom");
    logHasOneLinePerFault(t, sentence, ["chat.announce", "bans.add", "users.mute"]);
    // The hub's line for the refused sign-in says what Redis did, not that it cannot be reached.
    t.true(logText(t.context.b).includes(`sign-in refused: ${sentence}`), logText(t.context.b).slice(-2000));
  } finally {
    await redis.cli("config", "set", "maxmemory", "0");
  }
  const healed = Date.now();
  const back = await chatWorksAgain(ann, bob, "oom");
  const chatBack = Date.now() - healed;
  await statusSays(t, undefined);
  t.log(`chat back ${chatBack} ms, status clear ${Date.now() - healed} ms after Redis was healed`);
  t.regex(back, /^<ann> oom back \d+$/);
  t.notRegex(bob.all, /oom: not to be delivered/);
});

serial(`cluster errors - Redis a read-only replica: tsctl, the log and the users${why}`, async (t) => {
  const { redis } = t.context;
  const ann = await register(t.context.a, t.context.open, "ann2");
  const bob = await register(t.context.b, t.context.open, "bob2");
  const nowhere = await freePort();
  await redis.cli("replicaof", "127.0.0.1", String(nowhere));
  try {
    const sentence = "the cluster's Redis refuses writes: it is a read-only replica (READONLY)";
    await refused(t, ["announce", "hello"], sentence);
    await refused(t, ["ban", "10.1.1.2"], sentence);
    await refused(t, ["kick", "bob2"], sentence);
    await refused(t, ["identities", "wipe", "--yes"], sentence);
    await refused(t, ["unban", "10.9.8.7"], sentence);
    t.is((await t.context.a.tsctl(["who"])).code, 0);
    await statusSays(t, sentence);
    await usersSeePoliteLines(t, ann, "ro");
    logHasOneLinePerFault(t, sentence, ["chat.announce", "bans.add", "users.kick", "identities.wipe"]);
  } finally {
    await redis.cli("replicaof", "no", "one");
  }
  const healed = Date.now();
  const back = await chatWorksAgain(ann, bob, "ro");
  const chatBack = Date.now() - healed;
  await statusSays(t, undefined);
  t.log(`chat back ${chatBack} ms, status clear ${Date.now() - healed} ms after Redis was healed`);
  t.regex(back, /^<ann2> ro back \d+$/);
  t.notRegex(bob.all, /ro: not to be delivered/);
});

serial(`cluster errors - Redis down: tsctl, status, the log and the users${why}`, async (t) => {
  const { redis } = t.context;
  const ann = await register(t.context.a, t.context.open, "ann3");
  const bob = await register(t.context.b, t.context.open, "bob3");
  await redis.shutdown();
  try {
    const sentence = `the cluster's Redis cannot be reached (redis://127.0.0.1:${redis.port}): connection refused`;
    // The first calls may meet the connection as it closes: wait until the daemon has tried to reconnect.
    await waitFor(
      async () => (await t.context.a.tsctl(["who"])).stderr === `tsctl: ${sentence}\n`,
      15_000,
      "who to say the connection is refused",
    );
    for (const args of [
      ["who"],
      ["kick", "bob3"],
      ["announce", "hello"],
      ["identities", "list"],
      ["identities", "wipe", "--yes"],
      ["bans"],
      ["ban", "10.1.1.3"],
      ["unban", "10.9.8.7"],
      ["mute", "bob3"],
      ["unmute", "bob3"],
    ])
      await refused(t, args, sentence);
    await statusSays(t, sentence);
    const status = await t.context.a.tsctl(["status"]);
    t.regex(
      status.stdout,
      new RegExp(`cluster tsd: redis redis://127\\.0\\.0\\.1:${redis.port} NOT answering`),
    );
    await usersSeePoliteLines(t, ann, "down");
    logHasOneLinePerFault(t, sentence, [
      "users.list",
      "users.kick",
      "chat.announce",
      "identities.list",
      "identities.wipe",
      "bans.list",
      "bans.add",
      "bans.remove",
      "users.mute",
      "users.unmute",
    ]);
    t.true(
      logText(t.context.a).includes(
        `Redis connection lost; reconnecting url=redis://127.0.0.1:${redis.port}`,
      ),
    );
  } finally {
    await redis.start();
  }
  const healed = Date.now();
  const back = await chatWorksAgain(ann, bob, "down");
  const chatBack = Date.now() - healed;
  await statusSays(t, undefined);
  t.log(`chat back ${chatBack} ms, status clear ${Date.now() - healed} ms after Redis was healed`);
  t.regex(back, /^<ann3> down back \d+$/);
  t.notRegex(bob.all, /down: not to be delivered/);
  for (const daemon of [t.context.a, t.context.b]) {
    const log = logText(daemon);
    t.notRegex(log, /^\s+at /m, "no stack trace lines in either daemon's log");
    t.notRegex(log, RAW);
  }
});

serial(
  `cluster errors - Redis stalled (SIGSTOP): status says it has not answered for N s${why}`,
  async (t) => {
    const { redis } = t.context;
    const pid = Number(/process_id:(\d+)/.exec(await redis.cli("info", "server"))?.[1]);
    t.true(pid > 0);
    const ann = await register(t.context.a, t.context.open, "ann4");
    const bob = await register(t.context.b, t.context.open, "bob4");
    process.kill(pid, "SIGSTOP");
    try {
      const said = new RegExp(
        `^the cluster's Redis has not answered for \\d+ s \\(redis://127\\.0\\.0\\.1:${redis.port}\\)$`,
      );
      const status = await waitFor(
        async () => {
          const json = JSON.parse((await t.context.a.tsctl(["status", "--json"])).stdout);
          return said.test(json.cluster.redis.fault ?? "") ? json : null;
        },
        15_000,
        "status to say Redis has not answered",
      );
      t.truthy(status);
      // Unanswered for 3 s, the connection is dropped (a stall looks like a silent link) and a new
      // one opened, unanswered as well: status still says how long Redis has not answered.
      await waitFor(
        () => /has not answered; dropping the connection/.test(logText(t.context.a)),
        15_000,
        "the daemon to drop the silent connection",
      );
      const human = await t.context.a.tsctl(["status"]);
      t.regex(human.stdout, /\n {2}fault: the cluster's Redis has not answered for \d+ s /);
      // A change asked for now is refused at once, in the same words.
      const announce = await t.context.a.tsctl(["announce", "during the stall"]);
      t.is(announce.code, 1);
      t.regex(announce.stderr, new RegExp(`^tsctl: ${said.source.slice(1, -1)}\n$`));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const healed = Date.now();
    await chatWorksAgain(ann, bob, "stall");
    await statusSays(t, undefined);
    t.log(`status clear ${Date.now() - healed} ms after SIGCONT`);
    t.notRegex(logText(t.context.a), /^\s+at /m);
  },
);

serial(
  `cluster errors - Redis's password changed under running daemons: NOAUTH in one sentence${why}`,
  async (t) => {
    const { redis } = t.context;
    const ann = await register(t.context.a, t.context.open, "ann5");
    const bob = await register(t.context.b, t.context.open, "bob5");
    const password = "changed-Pw5";
    await redis.cli("config", "set", "requirepass", password);
    const asAdmin = ["-a", password, "--no-auth-warning"];
    try {
      await redis.cli(...asAdmin, "client", "kill", "type", "normal");
      const sentence = `the cluster's Redis (redis://127.0.0.1:${redis.port}) refuses tsd: it needs a password and the URL gives none (NOAUTH)`;
      await waitFor(
        async () => (await t.context.a.tsctl(["who"])).stderr === `tsctl: ${sentence}\n`,
        15_000,
        "who to say Redis wants a password",
      );
      await refused(t, ["who"], sentence);
      await refused(t, ["announce", "hello"], sentence);
      // Not connected: each reconnection is refused.
      await statusSays(t, sentence, false);
      t.notRegex(logText(t.context.a), /^\s+at /m);
    } finally {
      await redis.cli(...asAdmin, "config", "set", "requirepass", "");
    }
    await chatWorksAgain(ann, bob, "auth");
    await statusSays(t, undefined);
  },
);

serial(
  `cluster errors - a kick of another daemon's user while Redis refuses writes: taken off line and closed together${why}`,
  async (t) => {
    const { redis } = t.context;
    const ann = await register(t.context.a, t.context.open, "ann6");
    const dan = await register(t.context.b, t.context.open, "dan6");
    await ann.announced("dan6", "joined");
    await redis.cli("config", "set", "maxmemory", "1");
    let kicked: { code: number | null; stdout: string; stderr: string };
    try {
      kicked = await t.context.a.tsctl(["kick", "dan6"]);
    } finally {
      await redis.cli("config", "set", "maxmemory", "0");
    }
    // The take-off's script puts the drop on the stream in the same step: announced left and
    // closed by its daemon both, never announced left and still chatting.
    t.is(kicked.code, 0, kicked.stderr);
    await ann.announced("dan6", "left");
    t.is(await dan.line(/^\* disconnected by the operator/), "* disconnected by the operator");
    await dan.closedByServer();
    t.false((await who(ann)).includes("dan6"));
  },
);

serial(
  `cluster errors - Redis down, a connection typing names: each refused, the log one line per fault, not one per name${why}`,
  async (t) => {
    const { redis } = t.context;
    const logged = () => logText(t.context.b).match(/hub request failed/g)?.length ?? 0;
    const client = await connect(t.context.b, t.context.open);
    await client.loginPrompt();
    await redis.shutdown();
    try {
      const before = logged();
      const names = 300;
      for (let i = 0; i < names; i++) {
        client.send("cyd");
        // After the prompt, on its line: `login: ! accounts are unavailable right now; ...`.
        await client.line(/! accounts are unavailable/);
      }
      const lines = logged() - before;
      t.log(`${names} names typed while Redis was down: ${lines} log lines`);
      t.true(lines >= 1 && lines <= 3, `${lines} log lines for ${names} refusals`);
    } finally {
      await redis.start();
    }
  },
);

serial(
  `cluster errors - Redis down: /who and /away say they cannot be done, not this daemon's part as the cluster's${why}`,
  async (t) => {
    const { redis } = t.context;
    const ann = await register(t.context.a, t.context.open, "ann8");
    const bob = await register(t.context.b, t.context.open, "bob8");
    await ann.announced("bob8", "joined");
    await redis.shutdown();
    try {
      ann.send("/who");
      t.is(
        await ann.line(/^(! |\* \d+ online)/),
        "! who is online cannot be known right now; try again later",
      );
      ann.send("/away brb");
      t.is(
        await ann.line(/^(! |\* you are)/),
        "! the chat cannot be reached right now; your away state was not changed",
      );
    } finally {
      await redis.start();
    }
    await chatWorksAgain(ann, bob, "who");
    bob.send("/who");
    const line = await bob.line(/^\* \d+ online: /);
    t.regex(line, /\bann8\b/);
    t.notRegex(line, /ann8 \(away\)/, "an away refused was kept");
  },
);

serial(
  `cluster errors - Redis refusing writes: sign-ins on one connection are refused a bounded number of times, then it is closed${why}`,
  async (t) => {
    const { redis } = t.context;
    const client = await connect(t.context.b, t.context.open);
    await redis.cli("config", "set", "maxmemory", "1");
    try {
      // Each try is a password check on the thread and a line in the log: as many as wrong passwords get.
      for (let i = 0; i < 3; i++)
        t.is(
          await refusedWhileTyping(client, "cyd"),
          "! signing in is not possible right now; try again later",
        );
      await client.closedByServer();
    } finally {
      await redis.cli("config", "set", "maxmemory", "0");
    }
  },
);
