// Chat scenarios: tsd against other chat-like servers (ncat --chat, ngIRCd,
// redis PUBLISH/SUBSCRIBE), driven by the C chat load generator
// (bench/chatgen.c). Four scenarios share this module:
//   chat-fanout-100   100 receivers / 1 sender, a ladder of offered rates
//   chat-fanout-1000  1,000 receivers / 10 senders at 100 msg/s in total
//   chat-idle         RSS per signed-in session at 10,000 sessions
//   chat-signin       sign-ins per second (default scrypt) and the latency a
//                     signed-in pair sees meanwhile
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hashPassword, type PasswordHash, type ScryptParams } from "../../daemon/shared/password.ts";
import {
  type ChatgenRun,
  type ChatProto,
  ensureChatgen,
  ensureChatgenTls,
  startChatgen,
} from "../chatgen.ts";
import { processSnapshot, processTree } from "../proc.ts";
import { type RunningServer, repoRoot, SERVERS, type StopReport, sleep } from "../servers.ts";
import { median } from "../stats.ts";
import { markdownBlock, markdownTable } from "../docs-tables.ts";
import { fanoutSvg } from "../svg.ts";
import { type Column, fmtNumber, fmtPercent, fmtRatio, renderTable } from "../table.ts";
import type { BenchContext, BenchOptions, Scenario, ScenarioReport } from "../types.ts";

const PASSWORD = "benchpw";
/** Cheap scrypt parameters for the seeded accounts of the load scenarios (sign-in is not what they measure). */
const CHEAP: ScryptParams = { N: 1024, r: 8, p: 1, keylen: 32 };
// tsd-tls: tsd's chat over TLS, beside plain tsd in the same run, so its ratio column is TLS's cost.
const DEFAULT_SERVERS = ["tsd", "tsd-tls", "ncat", "ngircd", "redis"];

interface Driver {
  proto: ChatProto;
  /** Connections signing in at once during set-up (ncat dies and ngircd drops SYNs under bigger bursts). */
  concurrency: number;
}
function driverFor(id: string): Driver & { tls?: boolean } {
  if (id === "tsd-tls") return { proto: "tsd", concurrency: 200, tls: true };
  if (id.startsWith("tsd")) return { proto: "tsd", concurrency: 200 };
  if (id === "ncat") return { proto: "ncat", concurrency: 8 };
  if (id === "ngircd") return { proto: "irc", concurrency: 16 };
  if (id === "redis") return { proto: "redis", concurrency: 200 };
  throw new Error(`${id} has no chat driver`);
}

// ---------------------------------------------------------------------------
// Set-up shared by the scenarios

let peersChecked = false;
/** Install missing peers once per bench run with bench/setup.sh (apt-get), when that can work here. */
function ensurePeers(ctx: BenchContext, ids: string[]): void {
  if (peersChecked) return;
  peersChecked = true;
  const missing = ids.filter((id) => SERVERS[id]?.unavailable());
  if (missing.length === 0) return;
  const canApt = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
  if (!canApt) {
    ctx.log(
      `chat peers not installed: ${missing.join(", ")} (run: sudo sh bench/setup.sh); their rows are skipped`,
    );
    return;
  }
  ctx.log(`installing chat peers ${missing.join(", ")} with bench/setup.sh (apt-get, at most 5 minutes)...`);
  const r = spawnSync("sh", [path.join(repoRoot, "bench", "setup.sh")], {
    encoding: "utf8",
    timeout: 300_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const line of `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")) if (line) ctx.log(line);
}

/** identities.json with `names` accounts sharing one password hash (format of daemon/identities). */
function writeIdentities(stateDir: string, names: string[], password: PasswordHash): void {
  const users: Record<string, unknown> = {};
  const createdAt = new Date().toISOString();
  for (const name of names)
    users[name.toLowerCase()] = { name, createdAt, lastLoginAt: null, lastAddress: null, password };
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(stateDir, "identities.json"), JSON.stringify({ version: 1, users }), {
    mode: 0o600,
  });
}

const hashes = new Map<string, Promise<PasswordHash>>();
function sharedHash(params?: ScryptParams): Promise<PasswordHash> {
  const key = JSON.stringify(params ?? "default");
  let h = hashes.get(key);
  if (!h) {
    h = params ? hashPassword(PASSWORD, params) : hashPassword(PASSWORD);
    hashes.set(key, h);
  }
  return h;
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Resident memory of the server and all its descendants, in bytes (VmRSS from /proc). */
function treeRss(pid: number): number {
  let kb = 0;
  for (const p of processTree(processSnapshot(), pid)) {
    try {
      const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb * 1024;
}

interface ServerRecord {
  id: string;
  label: string;
  describe: string;
  status: "ok" | "unavailable" | "failed";
  error?: string;
  command?: string[];
  ready_line?: string;
  stop?: StopReport;
  notes: string[];
}

async function startServer(
  ctx: BenchContext,
  scenario: string,
  id: string,
  seed: { names: string[]; params?: ScryptParams } | undefined,
  rec: ServerRecord,
): Promise<RunningServer | undefined> {
  const kind = SERVERS[id]!;
  const why = kind.services.includes("chat") ? kind.unavailable() : "it has no chat service";
  if (why) {
    rec.status = "unavailable";
    rec.error = why;
    ctx.log(`${scenario}: ${id} skipped: ${why}`);
    return undefined;
  }
  try {
    const hash = seed && id.startsWith("tsd") ? await sharedHash(seed.params) : undefined;
    const server = await kind.start({
      services: ["chat"],
      cpus: ctx.pinning.serverCpus,
      prepare: async (dir) => {
        if (hash && seed) writeIdentities(dir, seed.names, hash);
      },
    });
    if (!server.endpoints.chat) {
      await server.stop();
      throw new Error(`ready line has no chat=HOST:PORT: ${server.readyLine}`);
    }
    rec.command = server.command;
    rec.ready_line = server.readyLine;
    ctx.log(`${scenario}: started ${id} (pid ${server.pid}, chat port ${server.endpoints.chat.port})`);
    return server;
  } catch (err) {
    rec.status = "failed";
    rec.error = (err as Error).message;
    ctx.log(`${scenario}: ${id} failed to start: ${rec.error}`);
    return undefined;
  }
}

async function stopServer(server: RunningServer | undefined, rec: ServerRecord): Promise<void> {
  if (!server) return;
  rec.stop = await server.stop();
  if (rec.stop.forced) rec.notes.push(`${rec.label} did not stop cleanly on SIGTERM (process group killed)`);
}

function newRecord(id: string): ServerRecord {
  const kind = SERVERS[id]!;
  return { id, label: kind.label, describe: kind.describe, status: "ok", notes: [] };
}

function chatRounds(o: BenchOptions): number {
  return Math.min(o.runs, 2);
}

const quick = (o: BenchOptions) => o.durationS <= 2;

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

const ms = (us: unknown) => (typeof us === "number" && us >= 0 ? fmtNumber(us / 1000) : "-");
const num = (x: unknown) => (typeof x === "number" ? x : Number.NaN);

function baseArgs(server: RunningServer, id: string): string[] {
  const d = driverFor(id);
  return [
    "--host",
    server.endpoints.chat!.host,
    "--port",
    String(server.endpoints.chat!.port),
    "--proto",
    d.proto,
    "--concurrency",
    String(d.concurrency),
    "--password",
    PASSWORD,
    ...(d.tls ? ["--tls"] : []),
  ];
}

/** The load generator for a server: the build with TLS for tsd-tls, the plain one otherwise. */
function chatgenFor(id: string, plain: string, ctx: BenchContext): string {
  return driverFor(id).tls ? ensureChatgenTls(ctx.log) : plain;
}

/**
 * One line with tsd over TLS against plain tsd, when both ran: each figure as TLS / plain, so
 * the price of TLS reads at once (sign-ins/s x0.80: a fifth fewer; p99 x1.3: 30 % slower).
 */
function tlsAgainstPlain(figures: [what: string, plain: number, tls: number][]): string[] {
  const shown = figures.filter(
    ([, plain, tls]) => Number.isFinite(plain) && Number.isFinite(tls) && plain > 0,
  );
  if (shown.length === 0) return [];
  return [
    `TLS against plain TCP (tsd TLS / tsd, same run): ${shown.map(([what, plain, tls]) => `${what} ${fmtRatio(tls / plain)}`).join(", ")}.`,
  ];
}

function loadgenNote(cpus: number[], what: string): string {
  const worst = Math.max(0, ...cpus.filter(Number.isFinite));
  const where = "single-threaded C/epoll (bench/chatgen.c)";
  return worst > 0.9
    ? `WARNING: the load generator (${where}) used up to ${fmtPercent(worst)} of its core ${what}: rows marked ! may measure the client, not the server.`
    : `load generator: ${where}, busiest measured window used ${fmtPercent(worst)} of one core ${what}, so it was not the bottleneck.`;
}

// ---------------------------------------------------------------------------
// chat-fanout-100: a ladder of offered rates

const LADDER = [500, 1000, 2000, 5000, 10000, 20000, 50000];

interface FanoutStep {
  round: number;
  rate: number;
  result: Record<string, number | string>;
  server_cpu_cores: number;
}

function fanoutLadder(): Scenario {
  const name = "chat-fanout-100";
  const title =
    "chat fan-out: 100 receivers, 1 sender, offered rate ladder 500..50,000 msg/s until a server saturates";
  const stepS = (o: BenchOptions) =>
    quick(o) ? { warmup: 0.3, measure: 1, drain: 1 } : { warmup: 0.5, measure: 1.5, drain: 2 };
  return {
    name,
    title,
    defaultServers: DEFAULT_SERVERS,
    estimateSeconds: (o, servers, rounds = chatRounds(o)) => {
      const s = stepS(o);
      return servers * Math.min(rounds, 2) * (LADDER.length * (s.warmup + s.measure + 0.6) + 3) + 5;
    },
    async run(ctx, serverIds) {
      ensurePeers(ctx, serverIds);
      const chatgen = ensureChatgen(ctx.log);
      const s = stepS(ctx.options);
      const rounds = chatRounds(ctx.options);
      const records = serverIds.map(newRecord);
      const steps = new Map<string, FanoutStep[]>(serverIds.map((id) => [id, []]));
      const running = new Map<string, RunningServer>();
      const names = range("u", 101);
      try {
        for (const rec of records) {
          const server = await startServer(ctx, name, rec.id, { names, params: CHEAP }, rec);
          if (server) running.set(rec.id, server);
        }
        for (let round = 0; round < rounds; round++) {
          const active = records.filter((r) => running.has(r.id));
          const order = active.map((_, i) => active[(i + round) % active.length]!);
          for (const rec of order) {
            const server = running.get(rec.id)!;
            let cpuAt = 0;
            let tAt = 0;
            const cpuByRate = new Map<number, number>();
            const run = await startChatgen(
              chatgenFor(rec.id, chatgen, ctx),
              [
                ...baseArgs(server, rec.id),
                "--mode",
                "fanout",
                "--receivers",
                "100",
                "--senders",
                "1",
                "--rates",
                LADDER.join(","),
                "--warmup",
                String(s.warmup),
                "--duration",
                String(s.measure),
                "--drain",
                String(s.drain),
                "--setup-timeout",
                "30",
              ],
              {
                cpus: ctx.pinning.loadgenCpus,
                limitS: 40 + LADDER.length * (s.warmup + s.measure + s.drain + 1),
                onLine: (line) => {
                  if (line.startsWith("measure-start")) {
                    cpuAt = server.cpuSeconds();
                    tAt = performance.now();
                  } else if (line.startsWith("measure-end"))
                    cpuByRate.set(
                      Number(line.split(" ")[1]),
                      (server.cpuSeconds() - cpuAt) / ((performance.now() - tAt) / 1000),
                    );
                },
              },
            ).done;
            recordRunProblems(rec, run, `round ${round + 1}`);
            for (const r of run.results.filter((x) => x.mode === "fanout")) {
              const rate = num(r.rate);
              steps.get(rec.id)!.push({
                round: round + 1,
                rate,
                result: r,
                server_cpu_cores: cpuByRate.get(rate) ?? Number.NaN,
              });
              ctx.log(
                `${name}: round ${round + 1} ${rec.id} ${fmtNumber(rate)} msg/s: ${fmtNumber(num(r.deliveries_per_s))} deliveries/s, ` +
                  `${fmtPercent(num(r.delivered_frac))} delivered, p99 ${ms(r.p99_us)} ms, chatgen CPU ${fmtPercent(num(r.chatgen_cpu))}`,
              );
            }
            await sleep(300);
          }
        }
      } finally {
        for (const rec of records) await stopServer(running.get(rec.id), rec);
      }
      return fanoutReport(name, title, records, steps, rounds, s);
    },
  };
}

function recordRunProblems(rec: ServerRecord, run: ChatgenRun, when: string): void {
  const err = run.results.find((r) => r.error);
  if (err)
    rec.notes.push(
      `${rec.label} (${when}): set-up failed, ${err.signed_in} of ${err.wanted} connections signed in after ${err.setup_s} s` +
        (run.stderr.trim() ? ` (${run.stderr.trim().split("\n").slice(0, 2).join("; ")})` : ""),
    );
  else if (run.results.length === 0)
    rec.notes.push(
      `${rec.label} (${when}): no result (${run.stderr.trim().split("\n").pop() ?? `exit ${run.exitCode}`})`,
    );
}

interface RateSummary {
  rate: number;
  rounds: number;
  deliveries_per_s: number;
  delivered_frac: number;
  lost: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  server_cpu_cores: number;
  chatgen_cpu: number;
  conn_errors: number;
}

function summarizeSteps(list: FanoutStep[]): RateSummary[] {
  const rates = [...new Set(list.map((x) => x.rate))].sort((a, b) => a - b);
  return rates.map((rate) => {
    const at = list.filter((x) => x.rate === rate);
    const pick = (k: string) =>
      median(at.map((x) => num(x.result[k])).filter((v) => Number.isFinite(v) && v >= 0));
    return {
      rate,
      rounds: at.length,
      deliveries_per_s: pick("deliveries_per_s"),
      delivered_frac: pick("delivered_frac"),
      lost: pick("lost"),
      p50_us: pick("p50_us"),
      p99_us: pick("p99_us"),
      p999_us: pick("p999_us"),
      server_cpu_cores: median(at.map((x) => x.server_cpu_cores).filter(Number.isFinite)),
      chatgen_cpu: Math.max(...at.map((x) => num(x.result.chatgen_cpu))),
      conn_errors: Math.max(...at.map((x) => num(x.result.conn_errors))),
    };
  });
}

const healthy = (x: RateSummary) => x.delivered_frac >= 0.95 && x.p99_us <= 100_000;

/** TLS against plain tsd at the highest offered rate both carried (>= 95 % delivered, p99 <= 100 ms). */
function fanoutTlsNote(sums: Map<string, RateSummary[]>, knees: Record<string, number | null>): string[] {
  const plain = sums.get("tsd") ?? [];
  const tls = sums.get("tsd-tls") ?? [];
  const both = Math.min(knees.tsd ?? 0, knees["tsd-tls"] ?? 0);
  const p = plain.find((x) => x.rate === both);
  const s = tls.find((x) => x.rate === both);
  if (!p || !s) return [];
  return tlsAgainstPlain([
    [`at ${fmtNumber(both)} msg/s: deliveries/s`, p.deliveries_per_s, s.deliveries_per_s],
    ["p50", p.p50_us, s.p50_us],
    ["p99", p.p99_us, s.p99_us],
    ["server CPU", p.server_cpu_cores, s.server_cpu_cores],
    ["highest rate carried", knees.tsd ?? Number.NaN, knees["tsd-tls"] ?? Number.NaN],
  ]);
}

function fanoutReport(
  name: string,
  title: string,
  records: ServerRecord[],
  steps: Map<string, FanoutStep[]>,
  rounds: number,
  s: { warmup: number; measure: number; drain: number },
): ScenarioReport {
  const sums = new Map(records.map((r) => [r.id, summarizeSteps(steps.get(r.id) ?? [])]));
  const base = records[0]!;
  const vs = `ratio to ${base.label}`;
  const columns: Column[] = [
    { header: "msg/s offered" },
    { header: "server", align: "left" },
    { header: "deliveries/s" },
    { header: "delivered" },
    { header: "lost" },
    { header: "p50 ms" },
    { header: "p99 ms" },
    { header: "p99.9 ms" },
    { header: "deliv/s", group: vs },
    { header: "p99", group: vs },
    { header: "server CPU" },
    { header: "chatgen CPU" },
  ];
  const rows: string[][] = [];
  const rates = [...new Set([...sums.values()].flatMap((l) => l.map((x) => x.rate)))].sort((a, b) => a - b);
  const chatgenCpus: number[] = [];
  for (const rate of rates) {
    const b = sums.get(base.id)?.find((x) => x.rate === rate);
    let first = true;
    for (const rec of records) {
      const x = sums.get(rec.id)?.find((y) => y.rate === rate);
      if (!x) continue;
      chatgenCpus.push(x.chatgen_cpu);
      rows.push([
        first ? fmtNumber(rate) : "",
        rec.label,
        fmtNumber(x.deliveries_per_s),
        `${(x.delivered_frac * 100).toFixed(x.delivered_frac < 1 && x.delivered_frac > 0.999 ? 2 : 1)}%`,
        fmtNumber(x.lost),
        ms(x.p50_us),
        ms(x.p99_us),
        ms(x.p999_us),
        fmtRatio(b ? x.deliveries_per_s / b.deliveries_per_s : Number.NaN),
        fmtRatio(b ? x.p99_us / b.p99_us : Number.NaN),
        Number.isFinite(x.server_cpu_cores) ? `${x.server_cpu_cores.toFixed(2)} cores` : "-",
        `${fmtPercent(x.chatgen_cpu)}${x.chatgen_cpu > 0.9 ? " !" : ""}`,
      ]);
      first = false;
    }
  }
  const notes: string[] = [];
  const knees: Record<string, number | null> = {};
  for (const rec of records) {
    if (rec.status !== "ok") {
      notes.push(`${rec.label}: not measured: ${rec.error}`);
      continue;
    }
    const list = sums.get(rec.id) ?? [];
    const ok = list.filter(healthy);
    const knee = ok.length ? Math.max(...ok.map((x) => x.rate)) : null;
    knees[rec.id] = knee;
    const last = list.at(-1);
    const why = !last
      ? "no step measured"
      : !healthy(last)
        ? `at ${fmtNumber(last.rate)} msg/s: ${fmtPercent(last.delivered_frac)} delivered, p99 ${ms(last.p99_us)} ms`
        : last.chatgen_cpu > 0.9
          ? `the load generator's core was full at ${fmtNumber(last.rate)} msg/s (client-bound, not the server's limit)`
          : `the ladder ended at ${fmtNumber(last.rate)} msg/s`;
    notes.push(
      `${rec.label}: highest offered rate with >= 95% delivered and p99 <= 100 ms: ` +
        `${knee === null ? "none" : `${fmtNumber(knee)} msg/s (${fmtNumber(knee * 100)} deliveries/s)`}; stopped: ${why}`,
    );
    notes.push(...rec.notes);
    if (list.some((x) => x.conn_errors > 0))
      notes.push(`${rec.label}: connections closed by the server during the ladder`);
  }
  notes.push(...fanoutTlsNote(sums, knees));
  notes.push(loadgenNote(chatgenCpus, "(it also reads every delivery)"));
  let svgFile: string | undefined;
  try {
    const dir = path.join(repoRoot, "bench", "results");
    mkdirSync(dir, { recursive: true });
    svgFile = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-fanout.svg`);
    const series = records
      .filter((r) => (sums.get(r.id) ?? []).length > 0)
      .map((r) => ({
        label: r.label,
        points: sums.get(r.id)!.map((x) => ({ x: x.rate, y: x.p99_us, bad: x.delivered_frac < 0.95 })),
      }));
    writeFileSync(
      svgFile,
      fanoutSvg("chat fan-out, 100 receivers / 1 sender: p99 vs offered rate", series, 100_000),
    );
    notes.push(`plot of p99 against offered rate: ${path.relative(process.cwd(), svgFile)}`);
  } catch (err) {
    notes.push(`could not write the SVG plot: ${(err as Error).message}`);
  }
  const text = [
    `${name}: ${title}`,
    `  per step ${s.warmup} s warm-up, ${s.measure} s measured, then up to ${s.drain} s for late deliveries ("lost" = not arrived by then); ` +
      `medians of ${rounds} round${rounds > 1 ? "s" : ""}; latency = send -> receipt, one way; ladder stops at < 95% delivered or p99 > 100 ms`,
    "",
    indent(renderTable(columns, rows)),
    "",
    ...notes.map((n) => `  * ${n}`),
  ].join("\n");
  return {
    name,
    title,
    params: { receivers: 100, senders: 1, ladder: LADDER, ...s, rounds, message_bytes: 64 },
    baseline: base.id,
    text,
    warnings: notes.filter((n) => n.startsWith("WARNING")),
    raw: {
      servers: records,
      steps: Object.fromEntries(steps),
      summary: Object.fromEntries(sums),
      knees,
      svg: svgFile && path.relative(repoRoot, svgFile),
    },
  };
}

// ---------------------------------------------------------------------------
// chat-fanout-1000: one fixed load

function fanoutWide(): Scenario {
  const name = "chat-fanout-1000";
  const title = "chat fan-out: 1,000 receivers, 10 senders, 100 msg/s in total (100,000 deliveries/s)";
  const dur = (o: BenchOptions) =>
    quick(o) ? { warmup: 0.5, measure: 2, drain: 2 } : { warmup: 1, measure: 3, drain: 3 };
  return {
    name,
    title,
    defaultServers: DEFAULT_SERVERS,
    estimateSeconds: (o, servers, rounds = chatRounds(o)) => {
      const d = dur(o);
      return servers * Math.min(rounds, 2) * (d.warmup + d.measure + 8) + 5;
    },
    async run(ctx, serverIds) {
      ensurePeers(ctx, serverIds);
      const chatgen = ensureChatgen(ctx.log);
      const d = dur(ctx.options);
      const rounds = chatRounds(ctx.options);
      const records = serverIds.map(newRecord);
      const results = new Map<
        string,
        {
          round: number;
          result: Record<string, number | string>;
          server_cpu_cores: number;
          setup_s: number;
        }[]
      >(serverIds.map((id) => [id, []]));
      const running = new Map<string, RunningServer>();
      try {
        for (const rec of records) {
          const server = await startServer(
            ctx,
            name,
            rec.id,
            { names: range("u", 1010), params: CHEAP },
            rec,
          );
          if (server) running.set(rec.id, server);
        }
        for (let round = 0; round < rounds; round++) {
          const active = records.filter((r) => running.has(r.id));
          for (const rec of active.map((_, i) => active[(i + round) % active.length]!)) {
            const server = running.get(rec.id)!;
            let cpuAt = 0;
            let tAt = 0;
            let cpu = Number.NaN;
            const t0 = performance.now();
            let setupS = Number.NaN;
            const run = await startChatgen(
              chatgenFor(rec.id, chatgen, ctx),
              [
                ...baseArgs(server, rec.id),
                "--mode",
                "fanout",
                "--receivers",
                "1000",
                "--senders",
                "10",
                "--rates",
                "100",
                "--warmup",
                String(d.warmup),
                "--duration",
                String(d.measure),
                "--drain",
                String(d.drain),
                "--setup-timeout",
                "40",
              ],
              {
                cpus: ctx.pinning.loadgenCpus,
                limitS: 60 + d.warmup + d.measure + d.drain,
                onLine: (line) => {
                  if (line.startsWith("measure-start")) {
                    cpuAt = server.cpuSeconds();
                    tAt = performance.now();
                    setupS = (tAt - t0) / 1000 - d.warmup - 0.3;
                  } else if (line.startsWith("measure-end"))
                    cpu = (server.cpuSeconds() - cpuAt) / ((performance.now() - tAt) / 1000);
                },
              },
            ).done;
            recordRunProblems(rec, run, `round ${round + 1}`);
            const r = run.results.find((x) => x.mode === "fanout");
            if (r) {
              results
                .get(rec.id)!
                .push({ round: round + 1, result: r, server_cpu_cores: cpu, setup_s: setupS });
              ctx.log(
                `${name}: round ${round + 1} ${rec.id}: ${fmtNumber(num(r.deliveries_per_s))} deliveries/s, lost ${r.lost}, ` +
                  `p99 ${ms(r.p99_us)} ms, chatgen CPU ${fmtPercent(num(r.chatgen_cpu))}`,
              );
            }
            await sleep(300);
          }
        }
      } finally {
        for (const rec of records) await stopServer(running.get(rec.id), rec);
      }
      const base = records[0]!;
      const med = (id: string, k: string) =>
        median(
          (results.get(id) ?? []).map((x) => num(x.result[k])).filter((v) => Number.isFinite(v) && v >= 0),
        );
      const vs = `ratio to ${base.label}`;
      const columns: Column[] = [
        { header: "server" },
        { header: "deliveries/s" },
        { header: "delivered" },
        { header: "lost" },
        { header: "p50 ms" },
        { header: "p99 ms" },
        { header: "p99.9 ms" },
        { header: "deliv/s", group: vs },
        { header: "p50", group: vs },
        { header: "p99", group: vs },
        { header: "server CPU" },
        { header: "chatgen CPU" },
        { header: "sign-in of 1,010" },
      ];
      const rows: string[][] = [];
      const notes: string[] = [];
      const cpus: number[] = [];
      for (const rec of records) {
        const list = results.get(rec.id) ?? [];
        if (list.length === 0) {
          notes.push(`${rec.label}: not measured: ${rec.error ?? "no successful run"}`, ...rec.notes);
          continue;
        }
        const cg = Math.max(...list.map((x) => num(x.result.chatgen_cpu)));
        cpus.push(cg);
        const frac = med(rec.id, "delivered_frac");
        rows.push([
          rec.label,
          fmtNumber(med(rec.id, "deliveries_per_s")),
          `${(frac * 100).toFixed(frac < 1 && frac > 0.999 ? 2 : 1)}%`,
          fmtNumber(med(rec.id, "lost")),
          ms(med(rec.id, "p50_us")),
          ms(med(rec.id, "p99_us")),
          ms(med(rec.id, "p999_us")),
          fmtRatio(med(rec.id, "deliveries_per_s") / med(base.id, "deliveries_per_s")),
          fmtRatio(med(rec.id, "p50_us") / med(base.id, "p50_us")),
          fmtRatio(med(rec.id, "p99_us") / med(base.id, "p99_us")),
          `${median(list.map((x) => x.server_cpu_cores).filter(Number.isFinite)).toFixed(2)} cores`,
          `${fmtPercent(cg)}${cg > 0.9 ? " !" : ""}`,
          `${median(list.map((x) => x.setup_s)).toFixed(1)} s`,
        ]);
        notes.push(...rec.notes);
      }
      if (results.get("tsd")?.length && results.get("tsd-tls")?.length)
        notes.push(
          ...tlsAgainstPlain([
            ["deliveries/s", med("tsd", "deliveries_per_s"), med("tsd-tls", "deliveries_per_s")],
            ["p99", med("tsd", "p99_us"), med("tsd-tls", "p99_us")],
            [
              "sign-in of 1,010",
              median((results.get("tsd") ?? []).map((x) => x.setup_s)),
              median((results.get("tsd-tls") ?? []).map((x) => x.setup_s)),
            ],
          ]),
        );
      notes.push(
        "sign-in column: wall time from starting the load generator to everyone signed in and the join notices settled " +
          "(tsd: seeded accounts with cheap scrypt N=1024; ngircd NICK/USER/JOIN, 16 at a time; ncat 8 at a time; redis SUBSCRIBE).",
        loadgenNote(cpus, "(it also reads every delivery)"),
      );
      const text = [
        `${name}: ${title}`,
        `  ${d.warmup} s warm-up, ${d.measure} s measured, up to ${d.drain} s drain; medians of ${rounds} round${rounds > 1 ? "s" : ""}; ` +
          "senders also receive each other's messages (redis: publish-only connections)",
        "",
        indent(renderTable(columns, rows)),
        "",
        ...notes.map((n) => `  * ${n}`),
      ].join("\n");
      return {
        name,
        title,
        params: { receivers: 1000, senders: 10, rate: 100, ...d, rounds, message_bytes: 64 },
        baseline: base.id,
        text,
        markdown: markdownBlock(
          `${title}: ${d.warmup} s warm-up, ${d.measure} s measured; medians of ${rounds} round${rounds > 1 ? "s" : ""}.`,
          markdownTable(columns, rows),
          notes,
        ),
        warnings: notes.filter((n) => n.startsWith("WARNING")),
        raw: { servers: records, runs: Object.fromEntries(results) },
      };
    },
  };
}

// ---------------------------------------------------------------------------
// chat-idle: memory per signed-in session

function idle(): Scenario {
  const name = "chat-idle";
  const sessions = 10_000;
  const title = `chat idle memory: RSS per signed-in session at ${sessions.toLocaleString("en-US")} sessions`;
  // settle: how long after the last sign-in the second figure is taken, once the servers' allocators
  // and garbage collectors have had time to give back what the sign-in storm used.
  const limits = (o: BenchOptions) =>
    quick(o) ? { setup: 30, quiet: 2, settle: 8 } : { setup: 60, quiet: 3, settle: 15 };
  return {
    name,
    title,
    defaultServers: DEFAULT_SERVERS,
    estimateSeconds: (o, servers) => servers * (limits(o).setup / 2 + limits(o).quiet + limits(o).settle + 4),
    async run(ctx, serverIds) {
      ensurePeers(ctx, serverIds);
      const chatgen = ensureChatgen(ctx.log);
      const lim = limits(ctx.options);
      const records = serverIds.map(newRecord);
      const rows: string[][] = [];
      const notes: string[] = [];
      const data: Record<string, unknown> = {};
      const names = range("u", sessions);
      let basePerSession = Number.NaN;
      for (const rec of records) {
        const server = await startServer(ctx, name, rec.id, { names, params: CHEAP }, rec);
        if (!server) {
          notes.push(`${rec.label}: not measured: ${rec.error}`);
          continue;
        }
        try {
          await sleep(lim.quiet * 1000);
          const before = treeRss(server.pid);
          const procsBefore = processTree(processSnapshot(), server.pid).size;
          let signedIn = 0;
          let setupS = Number.NaN;
          let after = Number.NaN;
          let settled = Number.NaN;
          let procsAfter = 0;
          let resolveReady: () => void = () => {};
          const readySeen = new Promise<void>((r) => {
            resolveReady = r;
          });
          const handle = startChatgen(
            chatgenFor(rec.id, chatgen, ctx),
            [
              ...baseArgs(server, rec.id),
              "--mode",
              "idle",
              "--receivers",
              String(sessions),
              "--senders",
              "0",
              "--setup-timeout",
              String(lim.setup),
              "--duration",
              String(lim.setup + lim.settle + 30),
            ],
            {
              cpus: ctx.pinning.loadgenCpus,
              limitS: lim.setup + lim.settle + 40,
              onLine: (line) => {
                if (line.startsWith("ready ")) {
                  const [, k, secs] = line.split(" ");
                  signedIn = Number(k);
                  setupS = Number(secs);
                  resolveReady();
                }
              },
            },
          );
          await Promise.race([readySeen, handle.done]);
          if (signedIn > 0) {
            await sleep(lim.quiet * 1000);
            after = treeRss(server.pid);
            procsAfter = processTree(processSnapshot(), server.pid).size;
            await sleep((lim.settle - lim.quiet) * 1000);
            settled = treeRss(server.pid);
          }
          handle.closeStdin();
          const run = await handle.done;
          const final = run.results.find((x) => x.mode === "idle");
          const perSession = signedIn > 0 ? (after - before) / signedIn : Number.NaN;
          const perSettled = signedIn > 0 ? (settled - before) / signedIn : Number.NaN;
          if (rec === records[0]) basePerSession = perSettled;
          ctx.log(
            `${name}: ${rec.id}: ${signedIn} sessions in ${setupS.toFixed(1)} s, RSS ${(before / 2 ** 20).toFixed(1)} -> ` +
              `${(after / 2 ** 20).toFixed(1)} MiB (${lim.quiet} s) -> ${(settled / 2 ** 20).toFixed(1)} MiB (${lim.settle} s), ` +
              `${(perSession / 1024).toFixed(1)} -> ${(perSettled / 1024).toFixed(1)} KiB/session`,
          );
          rows.push([
            rec.label,
            signedIn.toLocaleString("en-US"),
            `${(before / 2 ** 20).toFixed(1)} MiB`,
            Number.isFinite(after) ? `${(after / 2 ** 20).toFixed(1)} MiB` : "-",
            Number.isFinite(perSession) ? `${(perSession / 1024).toFixed(2)} KiB` : "-",
            Number.isFinite(settled) ? `${(settled / 2 ** 20).toFixed(1)} MiB` : "-",
            Number.isFinite(perSettled) ? `${(perSettled / 1024).toFixed(2)} KiB` : "-",
            fmtRatio(perSettled / basePerSession),
            `${setupS.toFixed(1)} s`,
            String(procsAfter || procsBefore),
          ]);
          if (signedIn < sessions)
            notes.push(
              `${rec.label}: only ${signedIn.toLocaleString("en-US")} of ${sessions.toLocaleString("en-US")} sessions signed in ` +
                `within ${lim.setup} s${run.stderr.trim() ? ` (${run.stderr.trim().split("\n").slice(0, 2).join("; ")})` : ""}; per-session figure is at that count`,
            );
          data[rec.id] = {
            sessions_wanted: sessions,
            signed_in: signedIn,
            setup_s: setupS,
            rss_before: before,
            rss_after: after,
            rss_per_session: perSession,
            rss_settled: settled,
            rss_settled_per_session: perSettled,
            processes: procsAfter,
            chatgen: final,
            chatgen_stderr: run.stderr,
          };
        } finally {
          await stopServer(server, rec);
        }
        notes.push(...rec.notes);
      }
      notes.push(
        "RSS = VmRSS summed over the server's process tree (tsd: primary + worker processes), " +
          `${lim.quiet} s after start, then ${lim.quiet} s and ${lim.settle} s after the last sign-in (settled: what an idle server keeps ` +
          "once its allocator and garbage collector have given back what the sign-in storm used); per session = difference / sessions. " +
          "tsd accounts are seeded (identities.json, one shared scrypt N=1024 hash) so sign-in is cheap. " +
          "The join notices each sign-in sends to everyone already in (O(n^2) lines in ngircd and ncat; tsd combines a storm's " +
          "into one line a second, chat-protocol.md) and each sign-in's list of who is online (O(n) bytes each) are part of the sign-in time.",
      );
      const columns: Column[] = [
        { header: "server" },
        { header: "sessions" },
        { header: "RSS before" },
        { header: `RSS +${lim.quiet} s` },
        { header: `per session +${lim.quiet} s` },
        { header: `RSS +${lim.settle} s` },
        { header: `per session +${lim.settle} s` },
        { header: `ratio to ${records[0]!.label}` },
        { header: "sign-in time" },
        { header: "processes" },
      ];
      const text = [
        `${name}: ${title}`,
        "  one chatgen process holds every session (the fd limit is 20,000 per process here)",
        "",
        indent(renderTable(columns, rows)),
        "",
        ...notes.map((n) => `  * ${n}`),
      ].join("\n");
      return {
        name,
        title,
        params: { sessions, ...lim },
        baseline: records[0]!.id,
        text,
        markdown: markdownBlock(
          `${title}; one chatgen process holds every session.`,
          markdownTable(columns, rows),
          notes,
        ),
        warnings: [],
        raw: { servers: records, results: data },
      };
    },
  };
}

// ---------------------------------------------------------------------------
// chat-signin: sign-ins per second and the event loop's delay meanwhile

function signin(): Scenario {
  const name = "chat-signin";
  const title =
    "chat sign-in storm: 16 connections signing in over and over (tsd: default scrypt N=16384), latency of a signed-in pair meanwhile";
  const dur = (o: BenchOptions) => (quick(o) ? 2 : 4);
  return {
    name,
    title,
    defaultServers: DEFAULT_SERVERS,
    estimateSeconds: (o, servers) => servers * (2 * dur(o) + 4) + 3,
    async run(ctx, serverIds) {
      ensurePeers(ctx, serverIds);
      const chatgen = ensureChatgen(ctx.log);
      const seconds = dur(ctx.options);
      const records = serverIds.map(newRecord);
      const results: Record<string, Record<string, number | string> & { server_cpu_cores?: number }> = {};
      for (const rec of records) {
        // Every account (probe pair p0/p1 and storm s0..s199) has the DEFAULT scrypt
        // parameters: one hash shared by all, which costs the server the same per check.
        const server = await startServer(
          ctx,
          name,
          rec.id,
          { names: [...range("p", 2), ...range("s", 200)] },
          rec,
        );
        if (!server) continue;
        try {
          let cpuAt = 0;
          let tAt = 0;
          let cpu = Number.NaN;
          const run = await startChatgen(
            chatgenFor(rec.id, chatgen, ctx),
            [
              ...baseArgs(server, rec.id),
              "--mode",
              "signin",
              "--duration",
              String(seconds),
              "--storm-conns",
              "16",
              "--storm-names",
              "200",
              "--probe-rate",
              "200",
              "--setup-timeout",
              "20",
            ],
            {
              cpus: ctx.pinning.loadgenCpus,
              limitS: 2 * seconds + 40,
              onLine: (line) => {
                if (line === "phase-start 1") {
                  cpuAt = server.cpuSeconds();
                  tAt = performance.now();
                } else if (line === "phase-end 1")
                  cpu = (server.cpuSeconds() - cpuAt) / ((performance.now() - tAt) / 1000);
              },
            },
          ).done;
          recordRunProblems(rec, run, "storm");
          const r = run.results.find((x) => x.mode === "signin");
          if (r) {
            results[rec.id] = { ...r, server_cpu_cores: cpu };
            ctx.log(
              `${name}: ${rec.id}: ${fmtNumber(num(r.signins_per_s))} sign-ins/s, probe p99 ${ms(r.quiet_p99_us)} -> ${ms(r.storm_p99_us)} ms`,
            );
          }
        } finally {
          await stopServer(server, rec);
        }
      }
      const base = results[records[0]!.id];
      const vs = `ratio to ${records[0]!.label}`;
      const columns: Column[] = [
        { header: "server" },
        { header: "sign-ins/s" },
        { header: "sign-in p50 ms" },
        { header: "sign-in p99 ms" },
        { header: "quiet p50 ms" },
        { header: "quiet p99 ms" },
        { header: "storm p50 ms" },
        { header: "storm p99 ms" },
        { header: "storm max ms" },
        { header: "sign-ins/s", group: vs },
        { header: "storm p99", group: vs },
        { header: "server CPU" },
        { header: "chatgen CPU" },
        { header: "errors" },
      ];
      const rows: string[][] = [];
      const notes: string[] = [];
      const cpus: number[] = [];
      for (const rec of records) {
        const r = results[rec.id];
        if (!r) {
          notes.push(`${rec.label}: not measured: ${rec.error ?? "no result"}`, ...rec.notes);
          continue;
        }
        cpus.push(num(r.chatgen_cpu_storm));
        rows.push([
          rec.label,
          fmtNumber(num(r.signins_per_s)),
          ms(r.signin_p50_us),
          ms(r.signin_p99_us),
          ms(r.quiet_p50_us),
          ms(r.quiet_p99_us),
          ms(r.storm_p50_us),
          ms(r.storm_p99_us),
          ms(r.storm_max_us),
          fmtRatio(base ? num(r.signins_per_s) / num(base.signins_per_s) : Number.NaN),
          fmtRatio(base ? num(r.storm_p99_us) / num(base.storm_p99_us) : Number.NaN),
          Number.isFinite(r.server_cpu_cores) ? `${num(r.server_cpu_cores).toFixed(2)} cores` : "-",
          fmtPercent(num(r.chatgen_cpu_storm)),
          String(num(r.signin_errors) + num(r.conn_errors)),
        ]);
        notes.push(...rec.notes);
      }
      notes.push(
        `probe: p0 sends 200 msg/s to the room, p1 records the one-way latency (same clock): "quiet" for ${seconds} s alone, ` +
          `"storm" for ${seconds} s while 16 connections sign in (tsd: existing accounts s0..s199 with the default scrypt ` +
          "N=16384, r=8, p=1 hash, checked on every sign-in), each closing once signed in; the others hear its join and leave.",
        'the peers have no passwords: their "sign-in" is ncat\'s connect, IRC NICK/USER/JOIN, redis SUBSCRIBE; ' +
          "their rows show connection set-up cost, not password hashing.",
        loadgenNote(cpus, ""),
      );
      if (results.tsd && results["tsd-tls"])
        notes.push(
          ...tlsAgainstPlain([
            ["sign-ins/s", num(results.tsd.signins_per_s), num(results["tsd-tls"].signins_per_s)],
            ["sign-in p50", num(results.tsd.signin_p50_us), num(results["tsd-tls"].signin_p50_us)],
            ["storm p99", num(results.tsd.storm_p99_us), num(results["tsd-tls"].storm_p99_us)],
            ["server CPU", num(results.tsd.server_cpu_cores), num(results["tsd-tls"].server_cpu_cores)],
          ]),
        );
      const text = [
        `${name}: ${title}`,
        "",
        indent(renderTable(columns, rows)),
        "",
        ...notes.map((n) => `  * ${n}`),
      ].join("\n");
      return {
        name,
        title,
        params: {
          storm_conns: 16,
          storm_names: 200,
          probe_rate: 200,
          seconds,
          scrypt: "defaults (N=16384, r=8, p=1)",
        },
        baseline: records[0]!.id,
        text,
        warnings: [],
        raw: { servers: records, results },
      };
    },
  };
}

export const chatFanout100 = fanoutLadder();
export const chatFanout1000 = fanoutWide();
export const chatIdle = idle();
export const chatSignin = signin();
