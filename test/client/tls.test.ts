import fs from "node:fs";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon, tempDir } from "../helpers/daemon.ts";
import { haveOpenssl, makeCertificate, readyPortOf, type TestCertificate } from "../helpers/tls.ts";
import { render } from "./screen.ts";
import { run, TSCHAT, tschat } from "./tschat.ts";

const opensslMissing = haveOpenssl() ? null : "the openssl command is not installed";
/** Without openssl no certificate can be made: each test is skipped, its title saying why. */
const serial = opensslMissing ? test.serial.skip : test.serial;
const why = opensslMissing ? ` (skipped: ${opensslMissing}; Debian package openssl)` : "";

let dir: string;
let cert: TestCertificate;
let daemon: RunningDaemon;
let tlsPort: number;
let watcher: ChatClient;

test.before(async () => {
  if (opensslMissing) return;
  dir = tempDir();
  cert = makeCertificate(dir, "server", "5005");
  daemon = await startDaemon([
    "--workers",
    "1",
    "--threads",
    "1",
    "--tls-port",
    "0",
    "--tls-cert",
    cert.certFile,
    "--tls-key",
    cert.keyFile,
  ]);
  tlsPort = readyPortOf(daemon.stdout(), "chat-tls");
  watcher = await ChatClient.connect(daemon.chatPort);
  await watcher.register("watcher", "pw-of-watcher");
});
test.after.always(async () => {
  watcher?.close();
  await daemon?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Registers name through tschat's stdin (pipe mode) and says text; resolves with tschat's exit code. */
async function registerAndSay(args: string[], name: string, text: string): Promise<number | null> {
  const client = tschat(["--port", String(tlsPort), ...args]);
  client.proc.stdin!.end(`${name}\npw-of-${name}\npw-of-${name}\n${text}\n/quit\n`);
  return client.exited;
}

serial(
  `tschat --tls --ca FILE: signs in and chats over TLS, trusting the self-signed certificate${why}`,
  async (t) => {
    const code = await registerAndSay(["--tls", "--ca", cert.certFile], "tina", "hello over TLS");
    t.is(await watcher.line(/^<tina> /), "<tina> hello over TLS");
    t.is(code, 0);
  },
);

serial(`tschat --tls --insecure: accepts the certificate unchecked${why}`, async (t) => {
  const code = await registerAndSay(["--tls", "--insecure"], "ivan", "unchecked but encrypted");
  t.is(await watcher.line(/^<ivan> /), "<ivan> unchecked but encrypted");
  t.is(code, 0);
});

serial(
  `tschat --tls without --ca: the self-signed certificate is refused, with what to do${why}`,
  async (t) => {
    const client = tschat(["--tls", "--port", String(tlsPort)]);
    client.proc.stdin!.end();
    t.is(await client.exited, 1);
    t.regex(
      client.stderr(),
      /cannot connect to 127\.0\.0\.1:\d+ over TLS: .*SELF_SIGNED.*--ca FILE.*--insecure/,
    );
    const missing = tschat(["--tls", "--ca", `${dir}/missing.pem`, "--port", String(tlsPort)]);
    missing.proc.stdin!.end();
    t.is(await missing.exited, 1);
    t.regex(missing.stderr(), /cannot read --ca \S+missing\.pem: ENOENT/);
  },
);

serial(
  `tschat --tls on a terminal: the password is hidden, a line arriving mid-typing is redrawn${why}`,
  async (t) => {
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const argv = [process.execPath, TSCHAT, "--tls", "--ca", cert.certFile, "--port", String(tlsPort)];
    const tty = run(
      "script",
      ["-qfec", `stty cols 80 rows 24; exec ${argv.map(quote).join(" ")}`, "/dev/null"],
      {
        ...process.env,
        TERM: "xterm",
        NO_COLOR: "1",
      },
    );
    await tty.output(/login( \[\w+\])?: /);
    tty.proc.stdin!.write("tess\r");
    await tty.output("new password: ");
    tty.proc.stdin!.write("pw-of-tess\r");
    await tty.output("repeat password: ");
    tty.proc.stdin!.write("pw-of-tess\r");
    await tty.output(/\* \d online: .*tess/);
    await watcher.line("* tess joined");
    tty.proc.stdin!.write("half");
    await tty.output((out) => render(out).at(-1) === "> half");
    watcher.send("over the wire");
    await tty.output(
      (out) => render(out).includes("<watcher> over the wire") && render(out).at(-1) === "> half",
    );
    tty.proc.stdin!.write(" done\r");
    t.is(await watcher.line(/^<tess> /), "<tess> half done");
    t.false(tty.stdout().includes("pw-of-tess"), "the password was never shown");
    tty.proc.stdin!.write("/quit\r");
    t.is(await tty.exited, 0);
  },
);

serial(`tschat --tls on the plain chat port: says the port does not speak TLS${why}`, async (t) => {
  const client = tschat(["--tls", "--insecure", "--port", String(daemon.chatPort)]);
  client.proc.stdin!.end();
  t.is(await client.exited, 1);
  t.regex(client.stderr(), /does not speak TLS on this port .*leave out --tls/);
});

serial(
  `tschat without --tls on the TLS port: when the server gives up waiting, says to use --tls${why}`,
  async (t) => {
    const client = tschat(["--port", String(tlsPort)]);
    t.teardown(() => client.proc.kill());
    // stdin stays open: tschat waits for the greeting, which never comes, until the handshake bound cuts it off.
    t.is(await client.exited, 1);
    t.is(client.stdout(), "");
    t.regex(client.stderr(), /closed the connection without a word: .*TLS port, use --tls/);
  },
);
