import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon, shape } from "../helpers/daemon.ts";
import { bound, connectFrom } from "./helpers.ts";

let daemon: RunningDaemon;
const clients: ChatClient[] = [];

test.before(async () => {
  daemon = await startDaemon([...shape(2, 1), "--no-echo"]);
});
test.after.always(async () => {
  for (const c of clients) c.close();
  await daemon?.cleanup();
});

async function from(address: string): Promise<ChatClient> {
  const c = await connectFrom(daemon.chatPort, address);
  clients.push(c);
  return c;
}

/** One wrong guess: ms from sending the password to the server's answer, and the answer. */
async function guess(c: ChatClient, name: string, password: string): Promise<{ ms: number; answer: string }> {
  await c.loginPrompt(30_000);
  c.send(name);
  await c.prompt("password: ", 30_000);
  const t0 = performance.now();
  c.send(password);
  const answer = await c.line(/^[!*] /, 60_000);
  return { ms: performance.now() - t0, answer };
}

test.serial(
  "brute force - 3 failures close the connection; the delay grows across connections; the owner from another address is not slowed",
  async (t) => {
    // The owner registers from 127.0.0.2.
    const owner = await from("127.0.0.2");
    await owner.register("victim", "correct horse");
    owner.close();

    // A guesser from 127.0.0.1: two connections of three wrong passwords each.
    const times: number[] = [];
    for (let conn = 0; conn < 2; conn++) {
      const g = await from("127.0.0.1");
      for (let i = 1; i <= 3; i++) {
        const { ms, answer } = await guess(g, "victim", `guess-${conn}-${i}`);
        times.push(ms);
        t.is(
          answer,
          i < 3 ? "! wrong password" : "! too many failures",
          `connection ${conn + 1}, attempt ${i}`,
        );
      }
      await g.closedByServer(10_000);
      t.true(g.closed, "closed after 3 failures");
      t.false(g.all.includes("* welcome back"), "never signed in");
    }
    times.forEach((ms, i) => {
      bound(t, "brute-force", `answer time of wrong password ${i + 1} from 127.0.0.1 (ms)`, ms);
    });

    // Meanwhile the owner, from another address, signs in with the right password at once.
    const back = await from("127.0.0.2");
    await back.loginPrompt();
    back.send("victim");
    await back.prompt("password: ");
    const t0 = performance.now();
    back.send("correct horse");
    const welcome = await back.line(/^[!*] /, 30_000);
    const ownerMs = performance.now() - t0;
    bound(
      t,
      "brute-force",
      "owner's sign-in time from 127.0.0.2 after 6 failures from 127.0.0.1 (ms)",
      ownerMs,
    );
    t.is(welcome, "* welcome back, victim");

    // The delay grows (250 ms after the first failure, doubling): guess 6 waits ~4 s, guess 4 ~1 s.
    // Only lower bounds and comparisons with a wide margin: a busy machine makes every answer later.
    t.true(times[5]! >= 2000, `guess 6 took ${times[5]!.toFixed(0)} ms (>= 2 s)`);
    t.true(times[5]! > times[3]!, "guess 6 slower than guess 4");
    // The owner is not made to wait out the guesser's delay (the next guess would wait ~8 s).
    t.true(ownerMs < times[5]! / 2, `owner ${ownerMs.toFixed(0)} ms vs guess 6 ${times[5]!.toFixed(0)} ms`);
  },
);
