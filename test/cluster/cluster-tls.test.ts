import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { shape, spawnDaemon, startDaemon, tempDir, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { haveOpenssl } from "../helpers/tls.ts";
import { freePort, NO_REDIS, register, rpc, untilRedisReady } from "./cluster-helpers.ts";

/**
 * `rediss://` and a password, as docs/cluster.md tells an operator to give them: a real
 * redis-server that speaks only TLS (--port 0, --tls-port) with a certificate from a private CA
 * made here with openssl, requirepass and an ACL user; the CA reaches the daemon through Node's
 * own NODE_EXTRA_CA_CERTS. Two real daemons chat across it; a wrong password, a missing one and
 * an untrusted certificate each stop the start with one sentence that never shows the password.
 */
interface Context {
  dir: string;
  port: number;
  ca: string;
  redis: ChildProcess | null;
  open: ChatClient[];
}
const test = anyTest as TestFn<Context>;

const PASSWORD = "pw-Tls/9@x";
const ACL_PASSWORD = "acl-pw-42";

/** Why these tests cannot run here: no redis-server, no openssl, or a redis-server built without TLS. */
function missing(): string | null {
  if (NO_REDIS) return NO_REDIS;
  if (!haveOpenssl()) return "openssl is not installed";
  // A TLS build complains about the certificate files; one without TLS about the directive.
  const probe = spawnSync(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      "1",
      "--tls-cert-file",
      "/nonexistent",
      "--tls-key-file",
      "/nonexistent",
      "--save",
      "",
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  const said = `${probe.stdout}${probe.stderr}`;
  if (/Failed to configure TLS|tls-ca-cert/.test(said)) return null;
  return `redis-server was built without TLS (it said: ${said.trim().split("\n").at(-1)})`;
}
const WHY_NOT = missing();
const serial = WHY_NOT ? test.serial.skip : test.serial;
const why = WHY_NOT ? ` (skipped: ${WHY_NOT})` : "";

/** A private CA and a certificate for 127.0.0.1 and localhost signed by it, in dir. */
function makeCaAndCertificate(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  run([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=tsd test CA",
  ]);
  run(["req", ...ec, "-keyout", file("key.pem"), "-out", file("req.csr"), "-subj", "/CN=localhost"]);
  fs.writeFileSync(file("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run([
    "x509",
    "-req",
    "-in",
    file("req.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca-key.pem"),
    "-CAcreateserial",
    "-out",
    file("cert.pem"),
    "-days",
    "2",
    "-extfile",
    file("ext.cnf"),
  ]);
  return { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") };
}

test.before(async (t) => {
  t.context.open = [];
  t.context.redis = null;
  if (WHY_NOT) return;
  const dir = tempDir();
  t.context.dir = dir;
  const { ca, cert, key } = makeCaAndCertificate(dir);
  t.context.ca = ca;
  t.context.port = await freePort();
  const proc = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--bind",
      "127.0.0.1",
      "--tls-port",
      String(t.context.port),
      "--tls-cert-file",
      cert,
      "--tls-key-file",
      key,
      "--tls-ca-cert-file",
      ca,
      "--tls-auth-clients",
      "no",
      "--requirepass",
      PASSWORD,
      "--user",
      "tsd",
      "on",
      `>${ACL_PASSWORD}`,
      // What docs/cluster.md asks of an ACL user: tsd's keys only, no dangerous commands.
      "~tsd:*",
      "&*",
      "+@all",
      "-@dangerous",
      "--dir",
      dir,
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.context.redis = proc;
  await untilRedisReady(proc);
});

test.afterEach.always((t) => {
  for (const client of t.context.open.splice(0)) client.close();
});

test.after.always(async (t) => {
  const proc = t.context.redis;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const gone = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await gone;
  }
  if (t.context.dir) fs.rmSync(t.context.dir, { recursive: true, force: true });
});

/** The daemon's environment: this process's, with the private CA given as docs/cluster.md says, or without any. */
function env(ca: string | null): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  return ca === null ? rest : { ...rest, NODE_EXTRA_CA_CERTS: ca };
}

function clusterArgs(url: string, node: string): string[] {
  return ["--hub", "redis", "--redis-url", url, "--node-id", node, ...shape(1, 1), ...UNLIMITED_CHAT];
}

/** Pieces of either password that must never be shown. */
function leaked(text: string): string[] {
  return [PASSWORD, "pw-Tls", "9@x", encodeURIComponent(PASSWORD), ACL_PASSWORD].filter((p) =>
    text.includes(p),
  );
}

serial(
  `cluster tls - rediss:// with a password, and with an ACL user, the CA in NODE_EXTRA_CA_CERTS: two daemons chat, moderate, announce${why}`,
  async (t) => {
    const { port, ca } = t.context;
    const asDefault = `rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const asAclUser = `rediss://tsd:${ACL_PASSWORD}@127.0.0.1:${port}`;
    const [a, b] = await Promise.all([
      startDaemon(clusterArgs(asDefault, "tls-a"), { env: env(ca) }),
      startDaemon(clusterArgs(asAclUser, "tls-b"), { env: env(ca) }),
    ]);
    try {
      const ann = await register(a, t.context.open, "ann");
      const bob = await register(b, t.context.open, "bob");
      ann.send("over TLS");
      t.is(await bob.line(/^<ann> /), "<ann> over TLS");
      bob.send("/msg ann and back");
      t.regex(await ann.line(/bob.*and back/), /and back$/);
      type Status = { cluster: { redis: { url: string; connected: boolean }; nodes: { id: string }[] } };
      // The nodes as of a's last heartbeat (each second): both, once a has beaten after b's start.
      const status = await waitFor(
        async () => {
          const answer = await rpc<Status>(a, "status");
          return answer.cluster.nodes.length === 2 ? answer : null;
        },
        10_000,
        "both daemons in a's status",
      );
      t.true(status.cluster.redis.connected);
      t.is(status.cluster.redis.url, `rediss://:***@127.0.0.1:${port}`);
      t.deepEqual(status.cluster.nodes.map((n) => n.id).sort(), ["tls-a", "tls-b"]);
      // The control methods that write, through the ACL user's daemon.
      for (const args of [
        ["ban", "10.2.3.4"],
        ["unban", "10.2.3.4"],
        ["mute", "ann", "--for", "1m"],
        ["unmute", "ann"],
        ["announce", "hello from b"],
      ]) {
        const done = await b.tsctl(args);
        t.is(done.code, 0, `${args.join(" ")}: ${done.stderr}`);
      }
      t.is(await ann.line(/^\* server: /), "* server: hello from b");
      const bStatus = await b.tsctl(["status"]);
      t.regex(bStatus.stdout, new RegExp(`redis rediss://tsd:\\*\\*\\*@127\\.0\\.0\\.1:${port} answering`));
      for (const daemon of [a, b]) {
        const log = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
        t.deepEqual(leaked(log + daemon.stdout()), []);
      }
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()]);
    }
  },
);

serial(
  `cluster tls - a wrong password or user stops the start at once: one sentence, no password${why}`,
  async (t) => {
    const { port, ca } = t.context;
    const cases: [string, string][] = [
      [
        `rediss://:wrong-${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
        `rediss://:***@127.0.0.1:${port}`,
      ],
      [`rediss://nobody:${ACL_PASSWORD}@127.0.0.1:${port}`, `rediss://nobody:***@127.0.0.1:${port}`],
      [
        `rediss://tsd:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
        `rediss://tsd:***@127.0.0.1:${port}`,
      ],
    ];
    for (const [url, masked] of cases) {
      const started = Date.now();
      // A long connect timeout: the start must not wait it out, a password is not cured by waiting.
      const daemon = spawnDaemon([...clusterArgs(url, "tls-wrong"), "--redis-connect-timeout", "60"], {
        env: env(ca),
      });
      try {
        t.is((await daemon.exited).code, 1, url);
        const seconds = (Date.now() - started) / 1000;
        t.true(seconds < 30, `exited after ${seconds} s`);
        t.log(`${masked}: exit 1 after ${seconds.toFixed(1)} s`);
        t.is(
          daemon.stderr(),
          `tsd-daemon: the cluster's Redis (${masked}) refuses tsd: wrong password or user name (WRONGPASS)\n`,
        );
        t.deepEqual(leaked(daemon.stderr() + daemon.stdout()), []);
      } finally {
        await daemon.cleanup();
      }
    }
  },
);

serial(`cluster tls - no password where Redis needs one: NOAUTH in one sentence${why}`, async (t) => {
  const { port, ca } = t.context;
  const daemon = spawnDaemon(
    [...clusterArgs(`rediss://127.0.0.1:${port}`, "tls-none"), "--redis-connect-timeout", "60"],
    {
      env: env(ca),
    },
  );
  try {
    t.is((await daemon.exited).code, 1);
    t.is(
      daemon.stderr(),
      `tsd-daemon: the cluster's Redis (rediss://127.0.0.1:${port}) refuses tsd: it needs a password and the URL gives none (NOAUTH)\n`,
    );
  } finally {
    await daemon.cleanup();
  }
});

serial(
  `cluster tls - a certificate from a CA the daemon was not given: one sentence naming NODE_EXTRA_CA_CERTS${why}`,
  async (t) => {
    const { port } = t.context;
    const daemon = spawnDaemon(
      [
        ...clusterArgs(`rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`, "tls-noca"),
        "--redis-connect-timeout",
        "2",
      ],
      { env: env(null) },
    );
    try {
      t.is((await daemon.exited).code, 1);
      t.regex(
        daemon.stderr(),
        new RegExp(
          `^tsd-daemon: cannot reach Redis at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(tried for 2\\.\\d s\\): its TLS certificate is not trusted \\(unknown CA; give the CA with NODE_EXTRA_CA_CERTS\\)\n$`,
        ),
      );
      t.deepEqual(leaked(daemon.stderr() + daemon.stdout()), []);
    } finally {
      await daemon.cleanup();
    }
  },
);

serial(
  `cluster tls - a CA in the system's store, with Node's --use-system-ca (SSL_CERT_FILE stands for the store)${why}`,
  async (t) => {
    const { port, ca } = t.context;
    const daemon = await startDaemon(
      clusterArgs(`rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`, "tls-system"),
      { env: { ...env(null), NODE_OPTIONS: "--use-system-ca", SSL_CERT_FILE: ca } },
    );
    try {
      const status = await rpc<{ cluster: { redis: { connected: boolean } } }>(daemon, "status");
      t.true(status.cluster.redis.connected);
    } finally {
      await daemon.cleanup();
    }
  },
);
