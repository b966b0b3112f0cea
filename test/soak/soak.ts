/**
 * The soak: many signed-in sessions at once, with churn (sign-in, chat, leave) at a steady
 * rate for a bounded time, checking that every message reaches every member online for its
 * whole life exactly once, and that the daemon's memory stays flat after warm-up.
 * `node scripts/soak.ts --sessions 10000 --seconds 120` runs the full one; the CI test a short one.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setInterval } from "node:timers/promises";
import { hashPassword } from "../../daemon/shared/password.ts";
import { type RunningDaemon, rssBytes, startDaemon, tempDir } from "../helpers/daemon.ts";

export interface SoakOptions {
  sessions: number;
  seconds: number;
  churnPerSecond: number;
  messagesPerSecond: number;
  workers: number;
  threads: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  sessions: number;
  seconds: number;
  signInSeconds: number;
  churned: number;
  messagesSent: number;
  deliveriesChecked: number;
  missing: number;
  duplicates: number;
  errors: string[];
  rssAfterWarmupBytes: number;
  rssEndBytes: number;
  rssPerSessionBytes: number;
}

const PASSWORD = "soak-password";

/** A lean client: counts message ids as they arrive, remembers when it joined and quit. */
class SoakClient {
  readonly name: string;
  readonly socket: net.Socket;
  readonly seen = new Map<number, number>();
  joinedAt = 0;
  quitAt = Number.POSITIVE_INFINITY;
  errors: string[] = [];
  private buffer = "";
  private onOnline: (() => void) | null = null;
  private stage: "login" | "password" | "online" | "gone" = "login";

  constructor(name: string, port: number, onError: (error: string) => void) {
    this.name = name;
    this.socket = net.connect({ port, host: "127.0.0.1" });
    this.socket.setEncoding("utf8");
    this.socket.on("data", (chunk: string) => this.onData(chunk));
    this.socket.on("error", (error) => onError(`${name}: ${error.message}`));
    this.socket.on("close", () => {
      if (this.stage !== "gone") onError(`${name}: closed by the server unexpectedly`);
      this.stage = "gone";
    });
  }

  signIn(): Promise<void> {
    return new Promise((resolve) => {
      this.onOnline = resolve;
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Closes from this side; not an error. */
  close(): void {
    this.stage = "gone";
    this.socket.destroy();
  }

  quit(): void {
    this.stage = "gone";
    this.quitAt = Date.now();
    this.send("/quit");
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.stage === "login" && /login(?: \[[^\]]*\])?: $/.test(this.buffer)) {
      this.buffer = "";
      this.stage = "password";
      this.send(this.name);
      return;
    }
    if (this.stage === "password" && this.buffer.endsWith("password: ")) {
      this.buffer = "";
      this.send(PASSWORD);
      return;
    }
    let nl = this.buffer.indexOf("\r\n");
    while (nl !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 2);
      this.onLine(line);
      nl = this.buffer.indexOf("\r\n");
    }
  }

  private onLine(line: string): void {
    if (line.startsWith("<")) {
      const id = Number(line.slice(line.indexOf("> m") + 3));
      this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
    } else if (line.startsWith("! ")) {
      this.errors.push(line);
    } else if (this.stage === "password" && /^\* \d+ online: /.test(line)) {
      this.stage = "online";
      this.joinedAt = Date.now();
      this.onOnline?.();
    }
  }
}

/** Writes the identity file directly: one cheap hash shared by every soak account, so 10,000 sign-ins cost seconds, not minutes. */
async function seedIdentities(stateDir: string, count: number): Promise<void> {
  const password = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1, keylen: 32 });
  const users: Record<string, unknown> = {};
  const createdAt = new Date().toISOString();
  for (let i = 0; i < count; i++)
    users[`u${i}`] = { name: `u${i}`, createdAt, lastLoginAt: null, lastAddress: null, password };
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(stateDir, "identities.json"), JSON.stringify({ version: 1, users }), {
    mode: 0o600,
  });
}

function daemonRss(daemon: RunningDaemon, workerPids: number[]): number {
  return [daemon.proc.pid!, ...workerPids].reduce((sum, pid) => {
    try {
      return sum + rssBytes(pid);
    } catch {
      return sum;
    }
  }, 0);
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const dir = tempDir();
  const pool = opts.sessions + Math.ceil(opts.churnPerSecond * opts.seconds) + 50;
  await seedIdentities(path.join(dir, "state"), pool);
  const daemon = await startDaemon(
    [
      "--workers",
      String(opts.workers),
      "--threads",
      String(opts.threads),
      "--no-echo",
      "--max-per-address",
      "0",
      "--log-level",
      "warn",
    ],
    { dir },
  );
  const errors: string[] = [];
  const onError = (e: string) => {
    if (errors.length < 20) errors.push(e);
  };
  try {
    const workerPids = (
      JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as { workers: { pid: number }[] }
    ).workers.map((w) => w.pid);
    const rssIdle = daemonRss(daemon, workerPids);
    const online = new Map<string, SoakClient>();
    const all: SoakClient[] = [];
    const free = Array.from({ length: pool }, (_, i) => `u${i}`).reverse();
    const join = async () => {
      const name = free.pop()!;
      const client = new SoakClient(name, daemon.chatPort, onError);
      all.push(client);
      await client.signIn();
      online.set(name, client);
    };

    // Sign everyone in, 200 at a time.
    const signInStart = Date.now();
    let started = 0;
    await Promise.all(
      Array.from({ length: Math.min(200, opts.sessions) }, async () => {
        while (started < opts.sessions) {
          started++;
          await join();
        }
      }),
    );
    const signInSeconds = (Date.now() - signInStart) / 1000;
    log(`${opts.sessions} sessions signed in in ${signInSeconds.toFixed(1)} s`);
    const stable = new Set(online.keys());

    // The steady phase: a fixed amount of churn and chat, at fixed rates. A busy machine makes
    // it last longer; it never makes the work smaller.
    const sent = new Map<number, { at: number; from: string }>();
    let nextId = 0;
    let churned = 0;
    const churnTarget = Math.round(opts.churnPerSecond * opts.seconds);
    const messageTarget = Math.round(opts.messagesPerSecond * opts.seconds);
    const steadyStart = Date.now();
    const warmAt = steadyStart + opts.seconds * 250;
    let rssAfterWarmup = 0;
    const joining: Promise<void>[] = [];
    const say = (sender: SoakClient) => {
      const id = nextId++;
      sent.set(id, { at: Date.now(), from: sender.name });
      sender.send(`m${id}`);
    };
    // The generator's clock: each tick does what is due by then.
    for await (const _ of setInterval(100)) {
      const due = (Date.now() - steadyStart) / 1000;
      while (churned < Math.min(churnTarget, Math.floor(due * opts.churnPerSecond))) {
        const names = [...online.keys()];
        const churnable = names.filter((n) => !stable.has(n) || stable.size > opts.sessions / 2);
        const leaver = churnable[Math.floor(Math.random() * churnable.length)];
        if (!leaver || free.length === 0) throw new Error(`nobody left to churn after ${churned}`);
        stable.delete(leaver);
        online.get(leaver)!.quit();
        online.delete(leaver);
        churned++;
        joining.push(join());
      }
      while (nextId < Math.min(messageTarget, Math.floor(due * opts.messagesPerSecond))) {
        const senders = [...online.values()];
        say(senders[Math.floor(Math.random() * senders.length)]!);
      }
      if (!rssAfterWarmup && Date.now() >= warmAt) rssAfterWarmup = daemonRss(daemon, workerPids);
      if (churned >= churnTarget && nextId >= messageTarget) break;
    }
    const steadySeconds = (Date.now() - steadyStart) / 1000;
    await Promise.all(joining);
    if (!rssAfterWarmup) rssAfterWarmup = daemonRss(daemon, workerPids);

    // Each message once at each member online from before it was sent until well after.
    const deliveries = () => {
      let checked = 0;
      let missing = 0;
      let duplicates = 0;
      for (const client of all) {
        for (const [id, message] of sent) {
          if (message.from === client.name || !client.joinedAt) continue;
          if (message.at < client.joinedAt || message.at > client.quitAt - 1000) continue;
          checked++;
          const times = client.seen.get(id) ?? 0;
          if (times === 0) missing++;
          else if (times > 1) duplicates++;
        }
      }
      return { checked, missing, duplicates };
    };
    // Wait until every message has arrived; then one more from a member who stayed: a duplicate
    // of anything before it would have come before it.
    const arrived = async (what: string) => {
      const deadline = Date.now() + 60_000;
      for await (const _ of setInterval(100)) {
        if (deliveries().missing === 0 || Date.now() > deadline) return;
      }
      log(`still missing deliveries after 60 s: ${what}`);
    };
    await arrived("the steady phase");
    say(online.get([...stable][0]!) ?? [...online.values()][0]!);
    await arrived("the last message");
    const rssEnd = daemonRss(daemon, workerPids);
    const { checked, missing, duplicates } = deliveries();
    for (const client of all) for (const e of client.errors) onError(`${client.name}: ${e}`);
    for (const client of all) client.close();
    return {
      sessions: opts.sessions,
      seconds: steadySeconds,
      signInSeconds,
      churned,
      messagesSent: sent.size,
      deliveriesChecked: checked,
      missing,
      duplicates,
      errors,
      rssAfterWarmupBytes: rssAfterWarmup,
      rssEndBytes: rssEnd,
      rssPerSessionBytes: Math.round((rssAfterWarmup - rssIdle) / opts.sessions),
    };
  } finally {
    await daemon.cleanup();
  }
}
