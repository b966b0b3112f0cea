import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { EmbeddedChatHub, type HistorySink } from "../../daemon/primary/hub/chat-hub.ts";
import { HubServer } from "../../daemon/primary/hub/hub-server.ts";
import { HubLink, HubRequestFailed } from "../../daemon/thread/hub-link.ts";
import type { HubCommand, LogRecord } from "../../protocol/hub-messages.ts";

/** History that cannot be read, as a store whose disk has failed: the hub's /history handler throws. */
const brokenHistory: HistorySink = {
  append: () => {},
  last: () => {
    throw new Error("history unreadable");
  },
};

/** The real hub server on a Unix socket in a temp dir, with the real link of one thread to it. */
async function hubWithLink(t: {
  teardown(fn: () => void | Promise<void>): void;
  log(...values: unknown[]): void;
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-hub-"));
  const socketPath = path.join(dir, "hub.sock");
  const logs: LogRecord[] = [];
  const chat = new EmbeddedChatHub({ maxPerAddress: 0, history: brokenHistory, log: () => {} });
  const server = new HubServer(
    chat,
    {
      onHello: () => ({ paused: true, ports: null }),
      onListening: () => {},
      onLog: (_link, record) => logs.push(record),
      onGone: () => {},
      onUnresponsive: () => {},
    },
    { maxLine: 4096, pingIntervalMs: 60_000, threadTimeoutMs: 120_000 },
  );
  await server.listen(socketPath);
  const welcomed = Promise.withResolvers<void>();
  const link = new HubLink(
    socketPath,
    4096,
    (message: HubCommand) => {
      if (message.k === "welcome") welcomed.resolve();
    },
    (reason) => t.log(`link lost: ${reason}`),
  );
  link.send({ k: "hello", worker: 1, thread: 1 });
  await welcomed.promise;
  t.teardown(async () => {
    await link.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { link, logs };
}

test("hub requests - a handler that throws is answered with an error; the link and later requests go on", async (t) => {
  const { link, logs } = await hubWithLink(t);
  const askedAt = performance.now();
  const error = await t.throwsAsync(link.request({ k: "history", n: 5 }), { instanceOf: HubRequestFailed });
  t.log(
    `BOUND hub requests: a request whose handler threw was refused in ${(performance.now() - askedAt).toFixed(1)} ms`,
  );
  t.regex(error!.message, /history unreadable/);
  t.true(
    logs.some((r) => r.level === "error" && r.meta?.kind === "history"),
    "the primary logs the failed request with its kind",
  );
  const who = await link.request({ k: "who" });
  t.deepEqual(who, { names: [], away: [] });
});

test("hub requests - a failed request runs no reply callback", async (t) => {
  const { link } = await hubWithLink(t);
  let called = false;
  await t.throwsAsync(
    link.request({ k: "history", n: 1 }, () => {
      called = true;
    }),
    { instanceOf: HubRequestFailed },
  );
  t.false(called);
});
