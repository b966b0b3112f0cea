import type { MetricsResult, StatusResult } from "../../protocol/rpc.ts";
import { type CtlCommand, type CtlContext, printJson } from "../command.ts";
import { formatUptime } from "../duration.ts";

/** One reading of the daemon: its metrics and status, and when they were read. */
export interface TopSample {
  at: number;
  metrics: MetricsResult;
  status: StatusResult;
}

const REFRESH_MS = 1000;
/** Sign-ins and failures are per minute, over the samples of the last minute. */
const MINUTE_MS = 60_000;

// The alternate screen (the shell's screen comes back on leaving), the cursor hidden meanwhile.
const ENTER_SCREEN = "\x1b[?1049h\x1b[?25l";
const LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l";
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
const CTRL_C = "\x03";

function bytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

function rate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function ms(n: number): string {
  return `${n.toFixed(n >= 100 ? 0 : 1)} ms`;
}

/** How much a counter grew per second (or per minute) from one sample to another. */
function perUnit(from: TopSample, to: TopSample, key: keyof MetricsResult, unitMs: number): number {
  const elapsed = to.at - from.at;
  if (elapsed <= 0) return 0;
  return (((to.metrics[key] as number) - (from.metrics[key] as number)) * unitMs) / elapsed;
}

/**
 * The view, line by line, from the samples read so far (oldest first): rates from the last two,
 * sign-ins per minute over the last minute; with one sample only, the totals since start.
 */
export function renderTop(samples: readonly TopSample[], width: number): string[] {
  const now = samples.at(-1)!;
  const { metrics: m, status: s } = now;
  const previous = samples.length > 1 ? samples.at(-2)! : null;
  const minuteAgo = samples.find((sample) => now.at - sample.at <= MINUTE_MS) ?? now;
  const clock = new Date(now.at).toTimeString().slice(0, 8);
  const lines = [
    `tsd ${s.version}  pid ${s.pid}  up ${formatUptime(s.uptimeSeconds)}${s.paused ? "  PAUSED" : ""}  ${clock}${previous ? "  (q quits)" : ""}`,
    "",
    `users online  ${m.usersOnline}    connections  chat ${m.connections.chat}  echo ${m.connections.echo}  tls ${m.connections.tls}`,
  ];
  if (previous) {
    const sec = (key: keyof MetricsResult) => perUnit(previous, now, key, 1000);
    const min = (key: keyof MetricsResult) => perUnit(minuteAgo, now, key, MINUTE_MS);
    const window = minuteAgo === now ? "" : `  (over ${Math.round((now.at - minuteAgo.at) / 1000)} s)`;
    lines.push(
      `messages/s    in ${rate(sec("messagesIn"))}    out ${rate(sec("messagesOut"))}`,
      `bytes/s       in ${bytes(sec("bytesIn"))}    out ${bytes(sec("bytesOut"))}`,
      `sign-ins/min  ${rate(min("signIns"))}    failures/min ${rate(min("signInFailures"))}${window}`,
    );
  } else {
    lines.push(
      `messages      in ${m.messagesIn}    out ${m.messagesOut}    (since start)`,
      `bytes         in ${bytes(m.bytesIn)}    out ${bytes(m.bytesOut)}`,
      `sign-ins      ${m.signIns}    failures ${m.signInFailures}`,
    );
  }
  lines.push(
    `since start   registrations ${m.registrations}  kicks ${m.kicks}  flood drops ${m.floodDrops}  output-limit disconnects ${m.outputLimitDisconnects}`,
    "",
    `${"WORKER".padEnd(8)}${"PID".padEnd(9)}${"THREAD".padEnd(8)}${"SESSIONS".padEnd(10)}${"LAG p50".padEnd(10)}${"p99".padEnd(10)}max`,
  );
  const pids = new Map(s.workers.map((w) => [w.id, w.pid]));
  let lastWorker: number | null = null;
  for (const t of m.threads ?? []) {
    const first = t.worker !== lastWorker;
    lastWorker = t.worker;
    lines.push(
      (first ? String(t.worker).padEnd(8) + String(pids.get(t.worker) ?? "").padEnd(9) : " ".repeat(17)) +
        String(t.thread).padEnd(8) +
        String(t.sessions).padEnd(10) +
        ms(t.lagP50Ms).padEnd(10) +
        ms(t.lagP99Ms).padEnd(10) +
        ms(t.lagMaxMs),
    );
  }
  // Cut to the terminal's width, however narrow: a longer line would wrap and push the view down a row.
  return lines.map((line) => line.slice(0, Math.max(width, 1)));
}

/** One screenful: drawn from the top left over the last one, each line and the rest of the screen cleared. */
function frame(lines: readonly string[], rows: number): string {
  const shown = lines.slice(0, Math.max(rows - 1, 1));
  return `${HOME}${shown.map((line) => `${line}${CLEAR_LINE_END}`).join("\r\n")}\r\n${CLEAR_BELOW}`;
}

/** Waits ms, or less if until settles first. */
function pause(ms: number, until: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const early = () => {
      clearTimeout(timer);
      resolve();
    };
    until.then(early, early);
  });
}

/**
 * The live view on the terminal, redrawn each second until q or Ctrl-C; the terminal is given
 * back as it was (main screen, cursor shown, raw mode off) however the view ends, a lost
 * daemon included.
 */
async function live(ctx: CtlContext, read: () => Promise<TopSample>, first: TopSample): Promise<void> {
  const screen = process.stdout;
  const keyboard = process.stdin;
  const samples: TopSample[] = [first];
  const quit = Promise.withResolvers<void>();
  const onKey = (data: Buffer) => {
    const typed = data.toString("latin1");
    if (typed.includes("q") || typed.includes("Q") || typed.includes(CTRL_C)) quit.resolve();
  };
  const draw = () => screen.write(frame(renderTop(samples, screen.columns ?? 80), screen.rows ?? 24));
  const rawBefore = keyboard.isTTY ? keyboard.isRaw : false;
  const flowingBefore = keyboard.readableFlowing;
  // Inside tsctl's shell, its line editor must not see the keys meant for the view (a q would end up typed).
  const editorKeys = keyboard.listeners("keypress") as ((...args: unknown[]) => void)[];
  screen.write(ENTER_SCREEN);
  screen.on("resize", draw);
  if (keyboard.isTTY) {
    keyboard.removeAllListeners("keypress");
    keyboard.setRawMode(true);
    keyboard.on("data", onKey);
    keyboard.resume();
  }
  let done = false;
  try {
    draw();
    const refresh = async () => {
      while (!done) {
        await pause(REFRESH_MS, quit.promise);
        if (done) return;
        const sample = await read();
        if (done) return;
        samples.push(sample);
        while (samples.length > 2 && sample.at - samples[1]!.at > MINUTE_MS) samples.shift();
        draw();
      }
    };
    refresh().catch((error: unknown) => quit.reject(error));
    await ctx.untilInterrupted(quit.promise);
  } finally {
    done = true;
    quit.resolve();
    screen.off("resize", draw);
    if (keyboard.isTTY) {
      keyboard.off("data", onKey);
      keyboard.setRawMode(rawBefore);
      for (const listener of editorKeys) keyboard.on("keypress", listener);
      if (flowingBefore !== true) keyboard.pause();
    }
    screen.write(LEAVE_SCREEN);
  }
}

export const top: CtlCommand = {
  command: "top",
  describe: "a live view: users, sessions per thread, messages/s, bytes/s, event-loop lag (q quits)",
  async run(ctx) {
    const client = await ctx.client();
    const read = async (): Promise<TopSample> => {
      const [metrics, status] = await Promise.all([client.call("metrics"), client.call("status")]);
      return { at: Date.now(), metrics, status };
    };
    const first = await read();
    if (ctx.json) return printJson(ctx, { metrics: first.metrics, status: first.status });
    // Without a terminal to draw on (a pipe, a file): one snapshot.
    if (!process.stdout.isTTY) return ctx.out(renderTop([first], 200).join("\n"));
    await live(ctx, read, first);
  },
};
