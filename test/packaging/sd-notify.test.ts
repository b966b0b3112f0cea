import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";

// Under systemd (Type=notify) the daemon says READY=1 once it serves, then keeps its status text
// (STATUS=, the Status: line of `systemctl status tsd`) up to date with the listeners and the
// users online, at most once a second. Here $NOTIFY_SOCKET is a datagram socket that
// netcat-openbsd listens on, standing for systemd: the messages are the real systemd-notify's.

function missingTool(): string | null {
  if (process.platform !== "linux") return "systemd is Linux only";
  for (const tool of ["systemd-notify", "nc"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
      return `${tool} is missing (apt-get install systemd netcat-openbsd; .ci/run does it)`;
  }
  return null;
}

const missing = missingTool();
if (missing) console.warn(`sd-notify: skipped: ${missing}`);
const notifyTest = missing ? test.skip : test;

/** A stand-in for systemd's notify socket: every datagram's text, in order. */
async function notifySocket(dir: string): Promise<{ path: string; messages(): string; close(): void }> {
  const socketPath = path.join(dir, "notify.sock");
  const listener = spawn("nc", ["-lkuU", socketPath], { stdio: ["ignore", "pipe", "pipe"] });
  let received = "";
  listener.stdout!.on("data", (d: Buffer) => {
    received += d.toString();
  });
  await waitFor(() => fs.existsSync(socketPath), 10_000, "nc to listen on the notify socket");
  return { path: socketPath, messages: () => received, close: () => listener.kill() };
}

/** The STATUS= texts received so far (datagrams are not separated in nc's output: each ends at the next KEY=). */
function statuses(messages: string): string[] {
  return [...messages.matchAll(/STATUS=(.*?)(?=MAINPID=|READY=|BARRIER=|STATUS=|\n|$)/g)].map((m) => m[1]!);
}

notifyTest(
  "sd-notify - READY=1, then STATUS= with the listeners and the users online as they change",
  async (t) => {
    const dir = tempDir();
    const systemd = await notifySocket(dir);
    t.teardown(() => {
      systemd.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const daemon = await startDaemon(
      ["--no-echo", "--workers", "1", "--threads", "2", ...MANY_REGISTRATIONS],
      {
        env: { ...process.env, NOTIFY_SOCKET: systemd.path },
      },
    );
    t.teardown(() => daemon.cleanup());
    const address = `chat=127.0.0.1:${daemon.chatPort}`;
    const statusSaying = (text: string) =>
      waitFor(
        () => statuses(systemd.messages()).find((s) => s.includes(text)),
        15_000,
        `a STATUS= with "${text}"`,
      );

    await waitFor(() => systemd.messages().includes("READY=1"), 15_000, "READY=1");
    t.is(await statusSaying("0 users online"), `listening ${address}; 0 users online`);

    const startedAt = Date.now();
    const clients: ChatClient[] = [];
    t.teardown(() => {
      for (const client of clients) client.close();
    });
    for (const name of ["ada", "bob", "cyd"]) {
      const client = await ChatClient.connect(daemon.chatPort);
      clients.push(client);
      await client.register(name, "correct horse");
    }
    t.is(await statusSaying("3 users online"), `listening ${address}; 3 users online`);

    clients.pop()!.close();
    await statusSaying("2 users online");
    const ctl = await daemon.tsctl(["pause"]);
    t.is(ctl.code, 0, ctl.stderr);
    t.is(await statusSaying("paused"), `paused, listeners closed (${address}); 2 users online`);
    const elapsedMs = Date.now() - startedAt;

    // Sign-ins, a sign-out and a pause, each a change: at most one message a second (plus the first).
    const sent = statuses(systemd.messages()).length;
    t.log(`${sent} STATUS= messages in ${elapsedMs} ms: ${JSON.stringify(statuses(systemd.messages()))}`);
    t.true(sent <= Math.ceil(elapsedMs / 1000) + 2, `${sent} messages in ${elapsedMs} ms`);
  },
);
