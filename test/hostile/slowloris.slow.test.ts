import net from "node:net";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon } from "../helpers/daemon.ts";
import { bound, percentile } from "./helpers.ts";

const IDLE = 1000;
const LOGIN_TIMEOUT_S = 5;
const MESSAGES = 50;

let daemon: RunningDaemon;
const sockets: net.Socket[] = [];
const clients: ChatClient[] = [];

test.before(async () => {
  daemon = await startDaemon([
    "--workers",
    "2",
    "--threads",
    "1",
    "--no-echo",
    "--max-per-address",
    "0",
    "--login-timeout",
    String(LOGIN_TIMEOUT_S),
    "--flood-rate",
    "0",
  ]);
});
test.after.always(async () => {
  for (const s of sockets) s.destroy();
  for (const c of clients) c.close();
  await daemon?.cleanup();
});

/** Round trips: a sends, b sees it; resolves with each latency in ms. */
async function roundTrips(a: ChatClient, b: ChatClient, tag: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const text = `${tag} ${i}`;
    const t0 = performance.now();
    a.send(text);
    await b.line(`<ping> ${text}`, 10_000);
    out.push(performance.now() - t0);
  }
  return out;
}

interface Idle {
  socket: net.Socket;
  openedAt: number;
  closedAt: number | null;
  /** Resolves when the connection closes. */
  closed: Promise<void>;
  timedOutNotice: boolean;
}

function openIdle(port: number): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    sockets.push(socket);
    socket.once("connect", () => {
      socket.off("error", reject);
      const closed = new Promise<void>((done) => socket.once("close", () => done()));
      const idle: Idle = { socket, openedAt: Date.now(), closedAt: null, closed, timedOutNotice: false };
      let text = "";
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        if (text.includes("timed out")) idle.timedOutNotice = true;
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        idle.closedAt = Date.now();
      });
      resolve(idle);
    });
    socket.once("error", reject);
  });
}

test.serial(
  "slowloris - 1,000 connections that never sign in neither slow two chatting users nor outlive the login timeout",
  async (t) => {
    const a = await ChatClient.connect(daemon.chatPort);
    const b = await ChatClient.connect(daemon.chatPort);
    clients.push(a, b);
    await a.register("ping", "secret1");
    await b.register("pong", "secret1");

    const baseline = await roundTrips(a, b, "quiet");

    // Open the idle crowd in batches (the listen backlog is finite); half of them trickle a
    // byte a second without a line end, which must not keep them alive.
    const idle: Idle[] = [];
    const openStart = Date.now();
    for (let i = 0; i < IDLE; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: 100 }, () => openIdle(daemon.chatPort)))));
    }
    const openMs = Date.now() - openStart;
    const trickling = idle.filter((_, i) => i % 2 === 0);
    const trickle = setInterval(() => {
      for (const c of trickling) if (c.closedAt === null) c.socket.write("x");
    }, 1000);

    try {
      const loaded = await roundTrips(a, b, "crowded");
      const stillOpen = idle.filter((c) => c.closedAt === null).length;

      bound(t, "slowloris", "time to open 1000 idle connections (ms)", openMs);
      bound(t, "slowloris", "round trip p50 without idle connections (ms)", percentile(baseline, 50));
      bound(t, "slowloris", "round trip max without idle connections (ms)", Math.max(...baseline));
      bound(t, "slowloris", "round trip p50 with 1000 idle connections (ms)", percentile(loaded, 50));
      bound(t, "slowloris", "round trip max with 1000 idle connections (ms)", Math.max(...loaded));
      bound(t, "slowloris", "idle connections still open when the 50 round trips ended", stillOpen);
      t.true(stillOpen >= IDLE / 2, "the round trips were measured while the crowd was connected");

      // Every idle connection is closed by the server within the login timeout plus a margin.
      const deadlineMs = (LOGIN_TIMEOUT_S + 15) * 1000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(idle.map((c) => c.closed)),
        new Promise((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    } finally {
      clearInterval(trickle);
    }

    const closed = idle.filter((c) => c.closedAt !== null);
    const lifetimes = closed.map((c) => (c.closedAt! - c.openedAt) / 1000);
    bound(t, "slowloris", "idle connections closed by the server", closed.length);
    bound(
      t,
      "slowloris",
      "idle connections told the sign-in timed out",
      idle.filter((c) => c.timedOutNotice).length,
    );
    bound(t, "slowloris", "shortest idle lifetime (s)", Math.min(...lifetimes));
    bound(t, "slowloris", "longest idle lifetime (s)", Math.max(...lifetimes));
    bound(
      t,
      "slowloris",
      "longest trickling lifetime (s)",
      Math.max(...trickling.map((c) => ((c.closedAt ?? Date.now()) - c.openedAt) / 1000)),
    );
    t.is(closed.length, IDLE, "every idle connection was closed by the server");
    t.true(Math.min(...lifetimes) >= LOGIN_TIMEOUT_S - 0.5, "none was closed before the login timeout");
    t.true(Math.max(...lifetimes) <= LOGIN_TIMEOUT_S + 10, "all were closed within login timeout + 10 s");

    // The signed-in pair was not affected: still connected and chatting.
    a.send("still here");
    t.is(await b.line(/still here/), "<ping> still here");
  },
);
