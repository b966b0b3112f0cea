import fs from "node:fs";
import path from "node:path";
import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import { bound, connectFrom } from "./helpers.ts";

const GUESSERS = 150;
const ATTACK_MS = 15_000;
/** Connections per guesser: a bound on the loop, far more than 15 s of refusals need. */
const MAX_ROUNDS = 40;
/** The account's free checks (10) plus its spaced turns over 15 s and the 10 s a granted turn may wait: ~19. */
const MAX_CHECKS = 30;
const DAEMON_ARGS = [...shape(2, 1), "--no-echo"];

interface Tally {
  /** guesses the server checked and found wrong */
  wrong: number;
  /** guesses refused without a check */
  refused: number;
  connections: number;
  errors: string[];
  firstRefusal: PromiseWithResolvers<void>;
}

/** One guessing address: connects again and again, three guesses a connection, until the deadline. */
async function guesser(port: number, address: string, deadline: number, tally: Tally): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS && Date.now() < deadline; round++) {
    let c: ChatClient | undefined;
    try {
      c = await connectFrom(port, address);
      tally.connections++;
      for (let i = 0; i < 3 && Date.now() < deadline; i++) {
        await c.loginPrompt(30_000);
        c.send("victim");
        await c.prompt("password: ", 30_000);
        c.send(`guess ${address} ${round} ${i}`);
        const answer = await c.line(/^[!*] /, 60_000);
        if (answer === "! wrong password" || answer === "! too many failures") tally.wrong++;
        else if (answer.startsWith("! too many failed sign-ins to victim")) {
          tally.refused++;
          tally.firstRefusal.resolve();
          break;
        } else throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
        if (answer === "! too many failures") break;
      }
    } catch (error) {
      if (tally.errors.length < 5) tally.errors.push(`${address}: ${(error as Error).message}`);
    } finally {
      c?.close();
    }
  }
}

/** Signs in as victim from address; ms from sending the password to the answer, and the answer. */
async function signIn(daemon: RunningDaemon, address: string): Promise<{ ms: number; answer: string }> {
  const c = await connectFrom(daemon.chatPort, address);
  try {
    await c.loginPrompt(30_000);
    c.send("victim");
    await c.prompt("password: ", 30_000);
    const t0 = performance.now();
    c.send("correct horse battery");
    const answer = await c.line(/^[!*] /, 60_000);
    return { ms: performance.now() - t0, answer };
  } finally {
    c.close();
  }
}

let daemon: RunningDaemon | undefined;
test.after.always(async () => {
  await daemon?.cleanup();
});

test("distributed guessing - 150 addresses guessing one account for 15 s get a bounded number of checks; the owner signs in at once from its last address", async (t) => {
  // The owner registers from 127.0.0.2; then the daemon restarts, so only the identity file
  // (its lastAddress) can tell the owner's address from the guessers'.
  const dir = tempDir();
  const first = await startDaemon(DAEMON_ARGS, { dir });
  const owner = await connectFrom(first.chatPort, "127.0.0.2");
  await owner.register("victim", "correct horse battery");
  owner.close();
  first.proc.kill("SIGTERM");
  await first.exited;
  daemon = await startDaemon(DAEMON_ARGS, { dir });
  const running = daemon;

  const tally: Tally = {
    wrong: 0,
    refused: 0,
    connections: 0,
    errors: [],
    firstRefusal: Promise.withResolvers<void>(),
  };
  const started = performance.now();
  const deadline = Date.now() + ATTACK_MS;
  const attack = Promise.all(
    Array.from({ length: GUESSERS }, (_, i) =>
      guesser(running.chatPort, `127.1.${i >> 4}.${(i & 15) + 1}`, deadline, tally),
    ),
  );

  // Once new addresses are being refused, the owner comes back from its last address...
  await Promise.race([
    tally.firstRefusal.promise,
    attack.then(() => {
      throw new Error(`no guess was refused; ${tally.wrong} were checked`);
    }),
  ]);
  const ownerDuring = await signIn(running, "127.0.0.2");
  // ...while the right password from an address new to the account waits its turn like the guessers.
  const stranger = await signIn(running, "127.0.0.3");
  await attack;
  const attackMs = performance.now() - started;

  const log = path.join(running.logDir, "tsd.log");
  const logged = await waitFor(
    () => {
      const n = (fs.readFileSync(log, "utf8").match(/failed sign-in/g) ?? []).length;
      return n >= tally.wrong ? n : null;
    },
    10_000,
    "the failed sign-ins in tsd.log",
  );

  bound(
    t,
    "brute-force",
    `password checks of one account by ${GUESSERS} addresses in ${ATTACK_MS / 1000} s`,
    tally.wrong,
  );
  bound(t, "brute-force", "guesses refused without a check", tally.refused);
  bound(t, "brute-force", "guessers' connections", tally.connections);
  bound(
    t,
    "brute-force",
    "owner's sign-in time from its last address during the attack (ms)",
    ownerDuring.ms,
  );
  bound(t, "brute-force", "attack duration, last answer included (ms)", attackMs);
  t.log(`stranger with the right password: ${stranger.answer} after ${stranger.ms.toFixed(0)} ms`);
  t.deepEqual(tally.errors, []);

  t.true(tally.wrong <= MAX_CHECKS, `${tally.wrong} guesses were checked (at most ${MAX_CHECKS})`);
  t.is(logged, tally.wrong, "every check the guessers saw is in the log, and no other");
  t.true(tally.refused > tally.wrong, "most guesses were refused unchecked");
  t.is(ownerDuring.answer, "* welcome back, victim");
  t.true(ownerDuring.ms < 5_000, `the owner waited ${ownerDuring.ms.toFixed(0)} ms`);
  t.true(
    stranger.answer.startsWith("! too many failed sign-ins to victim from new addresses; try again in ") ||
      stranger.ms >= 1_000,
    "a new address is slowed whoever it is",
  );
});
