import net from "node:net";
import test from "ava";
import { type RunningDaemon, startDaemon } from "../helpers/daemon.ts";
import { tschat } from "./tschat.ts";

let daemon: RunningDaemon;

test.before(async () => {
  daemon = await startDaemon(["--workers", "1", "--threads", "1"]);
});
test.after.always(async () => {
  await daemon?.cleanup();
});

test.serial("pipe - registers, chats and quits: server lines printed without CR, exit 0", async (t) => {
  const alice = tschat(["--port", String(daemon.chatPort)]);
  alice.proc.stdin!.end("alice\nsecret1\nsecret1\nhello there\n/quit\n");
  t.is(await alice.exited, 0, alice.stderr());
  const lines = alice.stdout().split("\n");
  t.true(lines.includes("* registered alice"), alice.stdout());
  t.true(lines.includes("* 1 online: alice"));
  t.is(lines.at(-2), "* bye", "bye is the last line");
  t.false(alice.stdout().includes("\r"), "no CR");
  t.false(alice.stdout().includes("login"), "prompts are not printed");
  t.is(alice.stderr(), "");
});

test.serial(
  "pipe - a receiver sees another tschat's message, then ends at the end of its input",
  async (t) => {
    const bob = tschat(["--port", String(daemon.chatPort)]);
    bob.proc.stdin!.write("bob\nsecret2\nsecret2\n");
    await bob.output("* 1 online: bob");
    const carol = tschat(["--port", String(daemon.chatPort)]);
    carol.proc.stdin!.end("carol\nsecret3\nsecret3\nhello there\n/quit\n");
    t.is(await carol.exited, 0, carol.stderr());
    t.true(carol.stdout().includes("* 2 online: bob, carol"), carol.stdout());
    await bob.output("<carol> hello there\n");
    bob.proc.stdin!.end();
    t.is(await bob.exited, 0, bob.stderr());
    t.true(bob.stdout().includes("* carol left"), bob.stdout());
  },
);

test.serial("pipe - echo: lines come back as sent, UTF-8 intact; /quit ends the input", async (t) => {
  const echo = tschat(["--echo", "--port", String(daemon.echoPort)]);
  echo.proc.stdin!.end("héllo\nпривет: мир\n/quit\nnever sent\n");
  t.is(await echo.exited, 0, echo.stderr());
  t.is(echo.stdout(), "héllo\nпривет: мир\n");
});

test.serial("pipe - cannot connect: exit 1 and a clear message", async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const lost = tschat(["--port", String(port)]);
  lost.proc.stdin!.end();
  t.is(await lost.exited, 1);
  t.is(lost.stderr(), `tschat: cannot connect to 127.0.0.1:${port}: ECONNREFUSED — is tsd-daemon running?\n`);
});

test.serial("pipe - a bad port is a usage error", async (t) => {
  const bad = tschat(["--port", "70000"]);
  bad.proc.stdin!.end();
  t.is(await bad.exited, 1);
  t.regex(bad.stderr(), /--port must be an integer 1-65535/);
});

test.serial("pipe - the daemon stopping: its notice printed, one message on stderr, exit 1", async (t) => {
  const own = await startDaemon(["--workers", "1", "--threads", "1"]);
  try {
    const dave = tschat(["--port", String(own.chatPort)]);
    dave.proc.stdin!.write("dave\nsecret4\nsecret4\n");
    await dave.output("* 1 online: dave");
    own.proc.kill("SIGTERM");
    t.is(await dave.exited, 1);
    t.true(dave.stdout().includes("* server shutting down\n"), dave.stdout());
    t.is(dave.stderr(), "tschat: the server closed the connection\n");
  } finally {
    await own.cleanup();
  }
});
