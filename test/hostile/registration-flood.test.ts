import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon } from "../helpers/daemon.ts";
import { bound, connectFrom } from "./helpers.ts";

/** The bound under test: 5 accounts per /24, so 4 x 5 = 20 per /16. */
const PER_HOUR = 5;
const REFUSED = /^! too many new accounts from your network; try again in \d+ (seconds?|minutes)$/;

let daemon: RunningDaemon;
const clients: ChatClient[] = [];

test.before(async () => {
  daemon = await startDaemon([...shape(2, 1), "--no-echo", "--registrations-per-hour", String(PER_HOUR)]);
});
test.after.always(async () => {
  for (const c of clients) c.close();
  await daemon?.cleanup();
});

async function from(address: string, port = daemon.chatPort): Promise<ChatClient> {
  const c = await connectFrom(port, address);
  clients.push(c);
  return c;
}

/** Resolves with the first match of re in what c has received and not yet read, as it arrives. */
function awaitUnread(c: ChatClient, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = re.exec(c.unread);
      if (match) done(() => resolve(match));
      else if (c.closed) done(() => reject(new Error(`closed; unread: ${JSON.stringify(c.unread)}`)));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no ${re} in ${timeoutMs} ms`))), timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      c.socket.off("data", check);
      c.socket.off("close", check);
      settle();
    };
    c.socket.on("data", check);
    c.socket.on("close", check);
    check();
  });
}

/**
 * Tries to register name from address: "registered", or the `! ` line it was refused with
 * (after the name, when the budget was spent already, or after the passwords, when others
 * spent it meanwhile: then the connection is closed).
 */
async function tryRegister(address: string, name: string, port = daemon.chatPort): Promise<string> {
  const c = await from(address, port);
  await c.loginPrompt(30_000);
  c.send(name);
  const next = await awaitUnread(c, /new password: |^(! [^\r]*)\r\n/m, 30_000);
  if (next[1]) return next[1];
  await c.prompt("new password: ", 30_000);
  c.send("secret1");
  await c.prompt("repeat password: ", 30_000);
  c.send("secret1");
  const answer = await c.line(/^[!*] /, 30_000);
  if (answer.startsWith("! ")) {
    await c.closedByServer(10_000);
    return answer;
  }
  c.close();
  return answer === `* registered ${name}` ? "registered" : answer;
}

function count(answers: readonly string[]): { registered: number; refused: number; other: string[] } {
  return {
    registered: answers.filter((a) => a === "registered").length,
    refused: answers.filter((a) => REFUSED.test(a)).length,
    other: answers.filter((a) => a !== "registered" && !REFUSED.test(a)),
  };
}

test("registration flood - one /24 gets its budget and no more, however many addresses and at once; sign-ins still work", async (t) => {
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => tryRegister(`127.0.9.${(i % 4) + 1}`, `crowd${i}`)),
  );
  const tally = count(answers);
  bound(
    t,
    "registration",
    `accounts made by 8 attempts at once from one /24 (bound ${PER_HOUR})`,
    tally.registered,
  );
  t.deepEqual(tally, { registered: PER_HOUR, refused: 8 - PER_HOUR, other: [] });

  // Once the budget is spent, a new name is refused before any password is typed...
  const late = await from("127.0.9.200");
  await late.loginPrompt();
  late.send("latecomer");
  t.regex(await late.next(), REFUSED);
  // ...and the connection stays, for signing in to an account that exists.
  const made = answers.indexOf("registered");
  await late.loginPrompt();
  late.send(`crowd${made}`);
  await late.prompt("password: ");
  late.send("secret1");
  t.is(await late.line(/^[!*] /), `* welcome back, crowd${made}`);
});

test("registration flood - 100 addresses in 100 /24s of one /16 make 4 x the /24 budget, another /16 is not affected", async (t) => {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => tryRegister(`127.2.${i}.1`, `wide${i}`)),
  );
  const ms = performance.now() - started;
  const tally = count(answers);
  bound(
    t,
    "registration",
    `accounts made by 100 attempts from one /16 in ${(ms / 1000).toFixed(1)} s (bound ${4 * PER_HOUR})`,
    tally.registered,
  );
  t.deepEqual(tally, { registered: 4 * PER_HOUR, refused: 100 - 4 * PER_HOUR, other: [] });
  t.is(await tryRegister("127.3.0.1", "elsewhere"), "registered");
});

test("registration flood - by default one /24 makes 20 accounts at once, then is told to try later", async (t) => {
  const plain = await startDaemon([...shape(1, 1), "--no-echo"]);
  try {
    const answers: string[] = [];
    // One after another, so the 21st is refused at its name, before any password.
    for (let i = 1; i <= 21; i++)
      answers.push(await tryRegister(`127.0.40.${i}`, `default${i}`, plain.chatPort));
    t.is(answers.filter((a) => a === "registered").length, 20);
    t.regex(answers[20]!, REFUSED);
  } finally {
    await plain.cleanup();
  }
});
