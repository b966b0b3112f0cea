import test, { type ExecutionContext } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, type RunningDaemon, shape, startDaemon, waitFor } from "../helpers/daemon.ts";
import { bound } from "../hostile/helpers.ts";

/**
 * Flood control as chat-protocol.md has it: a burst, then the rate; lines beyond wait their
 * turn, in order (IRC's "fakelag"); only past --flood-queue are lines dropped, each counted in
 * `! slow down (N lines dropped)`; a session being queued is not read.
 */

async function daemonWith(t: ExecutionContext, flood: string[]): Promise<RunningDaemon> {
  const daemon = await startDaemon([
    ...shape(1, 2),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
    ...flood,
  ]);
  t.teardown(() => daemon.cleanup());
  return daemon;
}

async function user(t: ExecutionContext, daemon: RunningDaemon, name: string): Promise<ChatClient> {
  const c = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => c.close());
  await c.register(name, "secret1");
  return c;
}

/** The numbers of the `<from> line N` lines reader got, in the order they came. */
function numbersFrom(reader: ChatClient, from: string): number[] {
  const pattern = new RegExp(`^<${from}> line (\\d+)$`);
  return reader.all.split("\r\n").flatMap((l) => {
    const m = pattern.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** The dropped lines told in `! slow down (N lines dropped)` so far. */
function droppedTold(sender: ChatClient): number {
  let sum = 0;
  for (const m of sender.all.matchAll(/^! slow down \((\d+) lines? dropped\)$/gm)) sum += Number(m[1]);
  return sum;
}

const paste = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}\r\n`).join("");

test.serial(
  "flood - a pasted block of 50 lines arrives whole and in order (a burst of 20, then 5 a second)",
  async (t) => {
    const daemon = await daemonWith(t, []);
    const reader = await user(t, daemon, "reader");
    const paster = await user(t, daemon, "paster");
    const sentAt = Date.now();
    paster.write(paste(50));
    await reader.line("<paster> line 49", 60_000);
    t.deepEqual(
      numbersFrom(reader, "paster"),
      Array.from({ length: 50 }, (_, i) => i),
    );
    t.false(paster.all.includes("! slow down"), "nothing dropped");
    // The 30 beyond the burst came at the rate: 6 s at 5 a second (some slack for the clock).
    const took = Date.now() - sentAt;
    bound(t, "flood", "ms for a 50-line paste to arrive whole (20 at once, then 5 a second)", took);
    t.true(took >= 5500, `all 50 within ${took} ms`);
  },
);

test.serial("flood - past --flood-queue lines are dropped, and ! slow down counts every one", async (t) => {
  const daemon = await daemonWith(t, ["--flood-burst", "5", "--flood-rate", "20", "--flood-queue", "10"]);
  const reader = await user(t, daemon, "reader");
  const flooder = await user(t, daemon, "flooder");
  const sent = 200;
  flooder.write(paste(sent));
  // Every line is either delivered or told as dropped: wait until the two add up.
  await waitFor(
    () => numbersFrom(reader, "flooder").length + droppedTold(flooder) === sent,
    30_000,
    "every line delivered or counted as dropped",
  );
  const got = numbersFrom(reader, "flooder");
  t.deepEqual(
    got,
    [...got].sort((a, b) => a - b),
    "the lines delivered are in order",
  );
  t.deepEqual(
    got.slice(0, 15),
    Array.from({ length: 15 }, (_, i) => i),
    "the burst and the queue go first",
  );
  t.true(droppedTold(flooder) > 0, "lines were dropped");
  t.is(new Set(got).size, got.length, "none twice");
});

test.serial(
  "flood - commands count as lines; with --flood-queue 0 the line past the burst is dropped and told",
  async (t) => {
    const daemon = await daemonWith(t, ["--flood-burst", "2", "--flood-rate", "1", "--flood-queue", "0"]);
    const c = await user(t, daemon, "asker");
    c.write("/who\r\n/who\r\n/who\r\n");
    // The drop is told as the line is read; the answers come after a round trip to the hub.
    const answers = [await c.next(), await c.next(), await c.next()];
    t.deepEqual(answers.sort(), ["! slow down (1 line dropped)", "* 1 online: asker", "* 1 online: asker"]);
  },
);

test.serial("flood - a session being queued is not read: a 16 MB paste stays with the sender", async (t) => {
  const daemon = await daemonWith(t, ["--flood-burst", "5", "--flood-rate", "10", "--flood-queue", "10"]);
  const reader = await user(t, daemon, "reader");
  const flooder = await user(t, daemon, "flooder");
  const block = paste(1000);
  const lines = 16 * 1000 * Math.floor((1 << 20) / block.length);
  for (let i = 0; i < lines / 1000; i++) flooder.write(block);
  // Three reports of drops: three seconds of queueing. A server reading all it is sent
  // would have dropped (and told) nearly every line by then.
  await waitFor(() => (flooder.all.match(/^! slow down/gm)?.length ?? 0) >= 3, 30_000, "three ! slow down");
  const told = droppedTold(flooder);
  bound(t, "flood", "lines pasted at once (16 MB)", lines);
  bound(t, "flood", "lines read and dropped after three ! slow down reports", told);
  bound(t, "flood", "bytes still unsent in the sender's buffers then", flooder.socket.writableLength);
  t.true(told < lines / 4, `only what was read is dropped (${told} of ${lines})`);
  t.true(flooder.socket.writableLength > 0, "the rest waits in the sender's buffers");
  t.true(numbersFrom(reader, "flooder").length >= 15);
});
