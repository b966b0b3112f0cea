import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, spawnDaemon, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import {
  connectTls,
  haveOpenssl,
  makeCertificate,
  readyPortOf,
  servedSerial,
  type TestCertificate,
  tlsChatClient,
} from "../helpers/tls.ts";
import { run } from "../client/tschat.ts";

const opensslMissing = haveOpenssl() ? null : "the openssl command is not installed";
/** Without openssl no certificate can be made: each test is skipped, its title saying why. */
const tlsTest = opensslMissing ? test.skip : test;
const serial = opensslMissing ? test.serial.skip : test.serial;
const why = opensslMissing ? ` (skipped: ${opensslMissing}; Debian package openssl)` : "";

let dir: string;
let first: TestCertificate;
let daemon: RunningDaemon;
let tlsPort: number;
/** The files the daemon is given: the first certificate at start, replaced by the reload test. */
let certFile: string;
let keyFile: string;

function tlsFlags(cert: string, key: string): string[] {
  return ["--tls-port", "0", "--tls-cert", cert, "--tls-key", key];
}

test.before(async () => {
  if (opensslMissing) return;
  dir = tempDir();
  first = makeCertificate(dir, "first", "1001");
  certFile = path.join(dir, "cert.pem");
  keyFile = path.join(dir, "key.pem");
  fs.copyFileSync(first.certFile, certFile);
  fs.copyFileSync(first.keyFile, keyFile);
  daemon = await startDaemon(["--workers", "1", "--threads", "2", ...tlsFlags(certFile, keyFile)]);
  tlsPort = readyPortOf(daemon.stdout(), "chat-tls");
});
test.after.always(async () => {
  await daemon?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface StatusJson {
  listeners: { service: string; port: number; listening: boolean }[];
  sessions: { chat: number; echo: number; tls?: number };
}

async function status(d: RunningDaemon): Promise<StatusJson> {
  const result = await d.tsctl(["status", "--json"]);
  if (result.code !== 0) throw new Error(`tsctl status: ${result.code} ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusJson;
}

/** openssl s_client as a chat client: stdin is what is typed, stdout what the server sends. */
function sClient(port: number, extra: string[] = []) {
  return run("openssl", ["s_client", "-quiet", "-connect", `127.0.0.1:${port}`, ...extra]);
}

/** What `openssl s_client | openssl x509 -serial` says a new connection is served. */
function opensslSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = execFile(
      "openssl",
      ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost"],
      { timeout: 15_000 },
      (error, stdout) => {
        if (error && !stdout.includes("BEGIN CERTIFICATE")) return reject(error);
        const x509 = execFile("openssl", ["x509", "-noout", "-serial"], (e, out) =>
          e ? reject(e) : resolve(out.trim()),
        );
        x509.stdin!.end(stdout);
      },
    );
    client.stdin!.end();
  });
}

serial(
  `tls - sign-in and chat over TLS, beside a plain client; status has chat-tls and a tls count${why}`,
  async (t) => {
    t.true(tlsPort > 0, "the ready line names the chat-tls port");
    const alice = await tlsChatClient(tlsPort, first.cert);
    t.is(
      (alice.socket as import("node:tls").TLSSocket).authorized,
      true,
      "the certificate verifies for localhost",
    );
    await alice.register("alice", "pw-of-alice");
    const bob = await ChatClient.connect(daemon.chatPort);
    await bob.register("bob", "pw-of-bob");
    await alice.announced("bob", "joined");
    alice.send("привет over TLS");
    t.is(await bob.line(/^<alice> /), "<alice> привет over TLS");
    bob.send("and back in clear");
    t.is(await alice.line(/^<bob> /), "<bob> and back in clear");

    const seen = await waitFor(
      async () => {
        const s = await status(daemon);
        return s.sessions.tls === 1 && s.sessions.chat === 1 ? s : null;
      },
      15_000,
      "status to count one TLS and one plain chat session",
    );
    const listener = seen.listeners.find((l) => l.service === "chat-tls");
    t.deepEqual(listener && { port: listener.port, listening: listener.listening }, {
      port: tlsPort,
      listening: true,
    });
    alice.send("/quit");
    await alice.closedByServer();
    bob.close();
  },
);

serial(`tls - openssl s_client -quiet signs in and chats${why}`, async (t) => {
  const watcher = await ChatClient.connect(daemon.chatPort);
  await watcher.register("watcher", "pw-of-watcher");
  const client = sClient(tlsPort);
  await client.output(/login( \[\w+\])?: $/);
  client.proc.stdin!.write("carol\r\n");
  await client.output("new password: ");
  client.proc.stdin!.write("pw-of-carol\r\n");
  await client.output("repeat password: ");
  client.proc.stdin!.write("pw-of-carol\r\n");
  await client.output(/\* \d+ online: .*carol/);
  client.proc.stdin!.write("hello from s_client\r\n");
  t.is(await watcher.line(/^<carol> /), "<carol> hello from s_client");
  watcher.send("hi carol");
  await client.output("<watcher> hi carol\r\n");
  client.proc.stdin!.write("/quit\r\n");
  await client.output("* bye");
  await client.exited;
  watcher.close();
});

/** Whether a command is on PATH. */
function have(command: string): boolean {
  return (process.env.PATH ?? "")
    .split(":")
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, command)));
}

for (const [client, argv] of [
  [
    "ncat --ssl",
    (port: number, ca: string) => ["ncat", "--ssl-verify", "--ssl-trustfile", ca, "localhost", String(port)],
  ],
  ["socat OPENSSL", (port: number, ca: string) => ["socat", "-", `OPENSSL:localhost:${port},cafile=${ca}`]],
] as const) {
  const command = argv(0, "")[0]!;
  const missing = opensslMissing ?? (have(command) ? null : `${command} is not installed`);
  const clientTest = missing ? test.serial.skip : test.serial;
  clientTest(
    `tls - ${client}, checking the certificate, signs in and chats${missing ? ` (skipped: ${missing})` : ""}`,
    async (t) => {
      const name = command === "ncat" ? "nico" : "sofia";
      const watcher = await ChatClient.connect(daemon.chatPort);
      await watcher.register(`${name}-watch`, "pw-of-watcher");
      const [cmd, ...args] = argv(tlsPort, first.certFile);
      const c = run(cmd!, args);
      await c.output(/login( \[[^\]]+\])?: $/);
      c.proc.stdin!.write(`${name}\r\n`);
      await c.output("new password: ");
      c.proc.stdin!.write(`pw-of-${name}\r\n`);
      await c.output("repeat password: ");
      c.proc.stdin!.write(`pw-of-${name}\r\n`);
      await c.output(new RegExp(`\\* \\d+ online: .*${name}`));
      c.proc.stdin!.write(`hello from ${client}\r\n`);
      t.is(await watcher.line(new RegExp(`^<${name}> `)), `<${name}> hello from ${client}`);
      c.proc.stdin!.write("/quit\r\n");
      await c.output("* bye");
      c.proc.stdin!.end();
      await c.exited;
      watcher.close();
    },
  );
}

serial(`tls - TLS 1.1 is refused by the server; TLS 1.2 is served${why}`, async (t) => {
  // The client allows TLS 1.0-1.1 (and the weak ciphers they need), so only the server can refuse.
  const old = await connectTls(tlsPort, {
    rejectUnauthorized: false,
    minVersion: "TLSv1",
    maxVersion: "TLSv1.1",
    ciphers: "DEFAULT@SECLEVEL=0",
  }).then(
    () => null,
    (error: NodeJS.ErrnoException) => error,
  );
  t.is(old?.code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "the server answers with a protocol-version alert");
  const s = await connectTls(tlsPort, { ca: first.cert, maxVersion: "TLSv1.2" });
  t.is(s.getProtocol(), "TLSv1.2");
  s.destroy();
  const client = sClient(tlsPort, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
  t.not(await client.exited, 0, "openssl s_client -tls1_1 fails");
  t.notRegex(client.stdout(), /login/);
});

serial(
  `tls - a client that never handshakes is cut off; the per-address cap counts TLS connections${why}`,
  async (t) => {
    // The handshake bound is the login timeout: long enough that the two silent connections are
    // still open when the third comes, on a busy machine too.
    const d = await startDaemon([
      ...tlsFlags(first.certFile, first.keyFile),
      "--login-timeout",
      "8",
      "--max-per-address",
      "2",
    ]);
    try {
      const port = readyPortOf(d.stdout(), "chat-tls");
      const opened = Date.now();
      const idle = [net.connect({ host: "127.0.0.1", port }), net.connect({ host: "127.0.0.1", port })];
      const closed = idle.map((s) => new Promise<void>((resolve) => s.on("close", () => resolve())));
      for (const s of idle) s.on("error", () => {});
      await waitFor(async () => (await status(d)).sessions.tls === 2, 15_000, "two TLS connections counted");
      // Over the cap of 2 from this address: refused before any handshake.
      const third = await connectTls(port, { ca: first.cert }).then(
        () => "served",
        () => "refused",
      );
      t.is(third, "refused");
      await Promise.all(closed);
      t.true(Date.now() - opened < 30_000, "the silent connections were closed at the handshake bound");
      await waitFor(async () => (await status(d)).sessions.tls === 0, 15_000, "the TLS count back to 0");
      const log = fs.readFileSync(path.join(d.logDir, "tsd.log"), "utf8");
      t.regex(log, /TLS handshake failed.*handshake timeout/);
    } finally {
      await d.cleanup();
    }
  },
);

serial(
  `tls - SIGHUP and tsctl reload load a renewed certificate: a new openssl s_client sees its serial, an open TLS session keeps chatting; a bad file keeps the old one${why}`,
  async (t) => {
    t.is(await opensslSerial(tlsPort), "serial=1001");
    const old = await tlsChatClient(tlsPort, first.cert);
    await old.register("dave", "pw-of-dave");
    const peer = await ChatClient.connect(daemon.chatPort);
    await peer.register("erin", "pw-of-erin");
    await old.announced("erin", "joined");

    const second = makeCertificate(dir, "second", "2002");
    // Replaced as a certificate renewal does: each file at once (rename), key first.
    fs.copyFileSync(second.keyFile, `${keyFile}.new`);
    fs.renameSync(`${keyFile}.new`, keyFile);
    fs.copyFileSync(second.certFile, `${certFile}.new`);
    fs.renameSync(`${certFile}.new`, certFile);
    daemon.proc.kill("SIGHUP");
    await waitFor(async () => (await servedSerial(tlsPort)) === "2002", 15_000, "the new certificate served");
    t.is(await opensslSerial(tlsPort), "serial=2002", "a new openssl s_client is served the new certificate");
    const fresh = await tlsChatClient(tlsPort, second.cert);
    t.true((fresh.socket as import("node:tls").TLSSocket).authorized);
    fresh.close();

    old.send("still here after the reload");
    t.is(await peer.line(/^<dave> /), "<dave> still here after the reload");
    peer.send("and you still hear me");
    t.is(await old.line(/^<erin> /), "<erin> and you still hear me");

    // A broken certificate: the reload fails, says why, and the one in force stays.
    fs.writeFileSync(certFile, "not a certificate\n");
    daemon.proc.kill("SIGHUP");
    const logFile = path.join(daemon.logDir, "tsd.log");
    await waitFor(
      () =>
        fs.readFileSync(logFile, "utf8").includes(`the TLS certificate ${certFile} is not a PEM certificate`),
      15_000,
      "the failed reload in the log",
    );
    t.is(await servedSerial(tlsPort), "2002");
    old.send("and after a failed one");
    t.is(await peer.line(/^<dave> /), "<dave> and after a failed one");
    // tsctl reload runs the same step: a third certificate, then a broken key, which it reports.
    const third = makeCertificate(dir, "third", "3003");
    fs.copyFileSync(third.keyFile, keyFile);
    fs.copyFileSync(third.certFile, certFile);
    const reloaded = await daemon.tsctl(["reload", "--json"]);
    t.is(reloaded.code, 0, reloaded.stderr);
    t.true((JSON.parse(reloaded.stdout) as { reloaded: string[] }).reloaded.includes("tls"));
    await waitFor(
      async () => (await servedSerial(tlsPort)) === "3003",
      15_000,
      "the third certificate served",
    );
    fs.writeFileSync(keyFile, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
    const failed = await daemon.tsctl(["reload"]);
    t.is(failed.code, 1);
    t.regex(
      failed.stderr,
      new RegExp(`tls: the TLS key ${keyFile.replaceAll(".", "\\.")} is not a PEM private key`),
    );
    t.is(await servedSerial(tlsPort), "3003", "the certificate in force stays");
    old.send("and after tsctl reload");
    t.is(await peer.line(/^<dave> /), "<dave> and after tsctl reload");
    fs.copyFileSync(third.keyFile, keyFile);
    old.close();
    peer.close();
  },
);

tlsTest(
  `tls - a TLS client that does not read is cut off at the output limit, as a plain one is${why}`,
  async (t) => {
    const d = await startDaemon([
      ...tlsFlags(first.certFile, first.keyFile),
      "--output-limit",
      "65536",
      "--flood-rate",
      "0",
    ]);
    try {
      const port = readyPortOf(d.stdout(), "chat-tls");
      const sleeper = await tlsChatClient(port, first.cert);
      await sleeper.register("sleeper", "pw-of-sleeper");
      sleeper.socket.pause();
      const talker = await ChatClient.connect(d.chatPort);
      await talker.register("talker", "pw-of-talker");
      const logFile = path.join(d.logDir, "tsd.log");
      const cutOff = () => /output limit reached.*name=sleeper/.test(fs.readFileSync(logFile, "utf8"));
      const line = "x".repeat(2000);
      // 400 lines of 2 kB: 12 times the limit, fanned out to the sleeper, which reads none of it.
      for (let i = 0; i < 400; i++) talker.send(`${i} ${line}`);
      await waitFor(cutOff, 15_000, "the output limit to cut the TLS client off");
      await waitFor(async () => (await status(d)).sessions.tls === 0, 15_000, "the TLS session gone");
      t.pass();
      talker.close();
      sleeper.close();
    } finally {
      await d.cleanup();
    }
  },
);

tlsTest(
  `tls - --plaintext-chat no: the plain chat port is closed, echo is up, chat is served over TLS${why}`,
  async (t) => {
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const plainPort = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const d = await startDaemon([
      ...tlsFlags(first.certFile, first.keyFile),
      "--chat-port",
      String(plainPort),
      "--plaintext-chat",
      "no",
    ]);
    try {
      const port = readyPortOf(d.stdout(), "chat-tls");
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port: plainPort });
        s.once("connect", () => {
          s.destroy();
          resolve("connected");
        });
        s.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
      t.is(refused, "ECONNREFUSED", "nothing listens on the plain chat port");
      const echo = net.connect({ host: "127.0.0.1", port: d.echoPort });
      echo.end("ping\n");
      const back = await new Promise<string>((resolve) => {
        let got = "";
        echo.on("data", (b: Buffer) => {
          got += b.toString();
        });
        echo.on("close", () => resolve(got));
      });
      t.is(back, "ping\n", "echo is unaffected");
      const frank = await tlsChatClient(port, first.cert);
      await frank.register("frank", "pw-of-frank");
      const s = await status(d);
      t.deepEqual(
        s.listeners.map((l) => l.service).sort(),
        ["chat-tls", "echo"],
        "status lists no plain chat listener",
      );
      frank.close();
    } finally {
      await d.cleanup();
    }
  },
);

tlsTest(
  `tls - a bad certificate, a bad key, a missing file, a key of another certificate: exit 1 naming the file${why}`,
  async (t) => {
    const other = makeCertificate(dir, "other", "3003");
    const junk = path.join(dir, "junk.pem");
    fs.writeFileSync(junk, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const missing = path.join(dir, "missing.pem");
    const cases: [string, string, string, RegExp][] = [
      ["a bad certificate", junk, first.keyFile, /the TLS certificate \S+junk\.pem is not a PEM certificate/],
      ["a bad key", first.certFile, junk, /the TLS key \S+junk\.pem is not a PEM private key/],
      [
        "a missing certificate",
        missing,
        first.keyFile,
        /cannot read the TLS certificate \S+missing\.pem: ENOENT/,
      ],
      ["a missing key", first.certFile, missing, /cannot read the TLS key \S+missing\.pem: ENOENT/],
      [
        "another certificate's key",
        first.certFile,
        other.keyFile,
        /the TLS key \S+other-key\.pem is not the key of the certificate \S+first-cert\.pem/,
      ],
    ];
    for (const [what, cert, key, message] of cases) {
      const spawned = spawnDaemon(tlsFlags(cert, key));
      const outcome = await spawned.started;
      await spawned.cleanup();
      t.false(outcome.ready, `${what}: not started`);
      if (!outcome.ready) t.is(outcome.code, 1, `${what}: exit 1`);
      const lines = spawned.stderr().trim().split("\n");
      t.is(lines.length, 1, `${what}: one line`);
      t.regex(lines[0]!, message, what);
    }
  },
);

test("tls - --tls-cert without --tls-key, and --plaintext-chat no without TLS, are bad usage", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--tls-cert", "cert.pem"], /--tls-cert needs --tls-key/],
    [["--tls-key", "key.pem"], /--tls-key needs --tls-cert/],
    [["--plaintext-chat", "no"], /--plaintext-chat no needs --tls-cert and --tls-key/],
    [["--plaintext-chat", "maybe"], /--plaintext-chat must be yes or no/],
  ];
  for (const [args, message] of cases) {
    const spawned = spawnDaemon(args);
    const outcome = await spawned.started;
    await spawned.cleanup();
    t.false(outcome.ready);
    if (!outcome.ready) t.is(outcome.code, 2, args.join(" "));
    t.regex(spawned.stderr(), message);
  }
});
