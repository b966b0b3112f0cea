/**
 * Chat sessions behind a real socket, in one process: the real ChatService of two session
 * threads, their real hub links and the real hub, with small limits a test can reach quickly
 * (login timeout, output limit, line length) and cheap scrypt.
 */
import test, { type ExecutionContext } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { waitFor } from "../helpers/daemon.ts";
import { ChatThread, TestHub } from "./harness.ts";

async function connect(t: ExecutionContext, thread: ChatThread): Promise<ChatClient> {
  const c = await ChatClient.connect(thread.port);
  t.teardown(() => c.close());
  return c;
}

async function user(t: ExecutionContext, thread: ChatThread, name: string, password = "secret1") {
  const c = await connect(t, thread);
  await c.register(name, password);
  return c;
}

test("chat session - two threads on one hub: registration, a line across threads, the replay for a later user", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1);
  const two = await ChatThread.start(t, hub, 2);
  const alice = await connect(t, one);
  t.regex(await alice.next(), /^\* /, "a greeting first");
  await alice.typeRegistration("alice", "secret1");
  t.is(await alice.line(/^\* registered/), "* registered alice");
  t.is(await alice.line(/online/), "* 1 online: alice");

  const bob = await user(t, two, "bob");
  t.is(await alice.line(/joined/), "* bob joined");
  bob.send("hi from thread two");
  t.is(await alice.line(/^</), "<bob> hi from thread two");

  const carol = await user(t, one, "carol");
  t.regex(carol.all, /\] <bob> hi from thread two\r\n\* 3 online: alice, bob, carol\r\n/);
  t.is(one.service.sessions, 2);
  t.is(two.service.sessions, 1);
});

test("chat session - signing in on the other thread takes the account over; the old connection is told and closed", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1);
  const two = await ChatThread.start(t, hub, 2);
  const watcher = await user(t, two, "watcher");
  const old = await user(t, one, "kim");
  await watcher.line("* kim joined");
  const fresh = await connect(t, two);
  await fresh.signIn("kim", "secret1");
  t.is(await old.line(/elsewhere/), "* signed in from elsewhere");
  await old.closedByServer();
  fresh.send("still me");
  t.is(await watcher.line(/^</), "<kim> still me");
  t.false(/kim (left|joined)/.test(watcher.unread));
});

test("chat session - /passwd: the old password no longer signs in, the new one does", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1);
  const uma = await user(t, one, "uma", "first-secret");
  uma.send("/passwd");
  await uma.prompt("password: ");
  uma.send("first-secret");
  await uma.prompt("new password: ");
  uma.send("x");
  t.regex(await uma.line(/^! /), /password/, "too short: asked again");
  await uma.prompt("new password: ");
  uma.send("second-secret");
  await uma.prompt("repeat password: ");
  uma.send("second-secret");
  t.is(await uma.line(/^\*/), "* password changed");
  uma.send("/quit");
  await uma.closedByServer();

  const wrong = await connect(t, one);
  await wrong.loginPrompt();
  wrong.send("uma");
  await wrong.prompt("password: ");
  wrong.send("first-secret");
  t.is(await wrong.line(/^!/), "! wrong password");
  const right = await connect(t, one);
  t.regex(await right.signIn("uma", "second-secret"), /^\* 1 online: uma$/);
});

test("chat session - a connection that does not sign in is closed at the login timeout", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1, { loginTimeoutMs: 300 });
  const idle = await connect(t, one);
  await idle.closedByServer();
  t.regex(idle.all, /timed out/);
  await waitFor(() => one.service.sessions === 0, 15_000, "the session gone from its thread");
});

test("chat session - a line over the limit gets one error, nothing is relayed, and the connection stays usable", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1, { maxLine: 64 });
  const a = await user(t, one, "mia");
  const b = await user(t, one, "ned");
  b.write(`${"x".repeat(200)}\r\n`);
  t.is(await b.line(/^!/), "! line too long (limit 64 bytes)");
  b.send("short");
  t.is(await a.line(/^</), "<ned> short");
  t.false(a.all.includes("xxxx"));
});

test("chat session - a client that does not read is cut off at the output limit; the others keep receiving", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1, { outputLimit: 64 * 1024, floodRate: 0 });
  const two = await ChatThread.start(t, hub, 2, { outputLimit: 64 * 1024, floodRate: 0 });
  const sender = await user(t, one, "loud");
  const reader = await user(t, two, "reader");
  const stuck = await user(t, two, "stuck");
  stuck.socket.pause();
  const line = "x".repeat(4000);
  let sent = 0;
  // Until the stuck client is cut off (at most 5,000 lines, 20 MB), each write waiting for room.
  const cutOff = () => two.logs.some((l) => /output limit reached/.test(l.msg));
  while (!cutOff() && sent < 5000) {
    if (!sender.socket.write(`${sent++} ${line}\r\n`))
      await new Promise((resolve) => sender.socket.once("drain", resolve));
  }
  await reader.line("* stuck left", 60_000);
  const cut = await two.logged(/output limit reached/);
  t.like(cut.meta, { name: "stuck" });
  sender.send("after");
  await reader.line("<loud> after", 60_000);
  t.is(reader.all.split("\r\n").filter((l) => l.startsWith("<loud> ") && l.endsWith(line)).length, sent);
});

test("chat session - a thread that loses its hub link: its users are announced left on the other thread", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1);
  const two = await ChatThread.start(t, hub, 2);
  await user(t, one, "alice");
  await user(t, one, "dave");
  const bob = await user(t, two, "bob");
  await one.end.link.close();
  await waitFor(
    () => bob.all.includes("* alice left\r\n") && bob.all.includes("* dave left\r\n"),
    15_000,
    "both announced left",
  );
  bob.send("/who");
  t.is(await bob.line(/online/), "* 1 online: bob");
});

test("chat session - a session's own reply never overtakes a line the hub sent before it (the thread's batch goes first)", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ChatThread.start(t, hub, 1);
  const alice = await user(t, one, "alice");
  // The hub's lines wait for the thread's next flush; a reply written meanwhile (here the
  // session's own send, as a command's answer is written) must not reach the client first.
  const sessions = (one.service as unknown as { signedIn: Map<string, { send(data: string): void }> })
    .signedIn;
  t.is(sessions.size, 1);
  const [alicesSession] = sessions.values();
  for (let round = 1; round <= 20; round++) {
    one.service.deliver({ k: "deliver", line: `* first ${round}\r\n`, except: null });
    alicesSession!.send(`* then the reply ${round}\r\n`);
    t.is(await alice.line(/^\* (first|then)/), `* first ${round}`);
    t.is(await alice.line(/^\* (first|then)/), `* then the reply ${round}`);
  }
});
