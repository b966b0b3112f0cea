import net from "node:net";
import test from "ava";
import { startDaemon } from "../helpers/daemon.ts";

// docs/operations.md and the unit promise clients 5 s on a stop (SIGTERM from `systemctl stop`,
// or `tsctl stop` without --grace): a client that has not closed its end keeps its connection,
// and the daemon goes on reading it, for that long, however quickly it is told goodbye.

const DOCUMENTED_GRACE_MS = 5000;

/** Connects with its own end kept open after the server's goodbye, as nc or telnet may. */
function halfOpenClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/**
 * After the server's goodbye (its end of the stream), writes one byte every 250 ms until the
 * connection is cut (a reset, once the daemon's side is gone); resolves with how long that took.
 */
function timeUntilCut(socket: net.Socket, limitMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let endedAt = 0;
    let probe: NodeJS.Timeout | undefined;
    const cut = () => {
      clearInterval(probe);
      if (endedAt === 0) reject(new Error("the connection was cut before the goodbye"));
      else resolve(Date.now() - endedAt);
    };
    socket.on("data", () => {});
    socket.once("end", () => {
      endedAt = Date.now();
      let sent = 0;
      probe = setInterval(() => {
        // One byte and no line end: the session only buffers it, and answers nothing.
        if (++sent * 250 > limitMs) {
          clearInterval(probe);
          reject(new Error(`still connected ${limitMs} ms after the goodbye`));
          return;
        }
        if (!socket.destroyed) socket.write("x");
      }, 250);
    });
    socket.once("error", cut);
    socket.once("close", cut);
  });
}

test("stop grace - on SIGTERM a chat client that keeps its end open gets the documented 5 s", async (t) => {
  const daemon = await startDaemon(["--no-echo", "--workers", "1", "--threads", "1"]);
  t.teardown(() => daemon.cleanup());
  const client = await halfOpenClient(daemon.chatPort);
  t.teardown(() => client.destroy());
  // The login prompt: the session is open.
  await new Promise((resolve) => client.once("data", resolve));
  const cut = timeUntilCut(client, 4 * DOCUMENTED_GRACE_MS);
  daemon.proc.kill("SIGTERM");
  const connectedMs = await cut;
  t.log(`connected ${connectedMs} ms after the goodbye`);
  // A lower bound only: a slow machine makes it longer, never shorter.
  t.true(connectedMs >= DOCUMENTED_GRACE_MS - 500, `cut after ${connectedMs} ms`);
  t.deepEqual(await daemon.exited, { code: 0, signal: null });
});
