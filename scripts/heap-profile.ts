// `node scripts/run-ts.js scripts/heap-profile.ts [--sessions 1000,5000] [--workers W --threads T] [--snapshots] [--cpu-prof DIR] [--write-docs [--block NAME]]`
//
// Where the memory of idle signed-in sessions goes (issue 16, item 1). For each count N it starts
// a fresh daemon (seeded accounts, cheap scrypt, as chat-idle does) with the inspector on in
// every process, signs N sessions in with the chat load generator (bench/chatgen.c, idle mode),
// and in the primary and every session thread: forces a full collection, reads
// process.memoryUsage() and takes a heap snapshot, before the sessions and with them. It prints
// per-session figures: RSS of each process after the collection, heap / external / array
// buffers per isolate, and the heap's objects by constructor (count and bytes per session, from
// the difference of the two snapshots), plus the retained size of the per-session roots
// (ChatSession in a thread, the roster's Member in the primary) from the dominator tree.
// --write-docs replaces the block between the heap-profile markers in docs/performance.md.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureChatgen, startChatgen } from "../bench/chatgen.ts";
import { repoRoot } from "../bench/servers.ts";
import { hashPassword } from "../daemon/shared/password.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    workers: { type: "string", default: "1" },
    threads: { type: "string", default: "2" },
    top: { type: "string", default: "14" },
    "write-docs": { type: "boolean", default: false },
    /** The marked block of docs/performance.md that --write-docs replaces: <!-- NAME: begin --> ... <!-- NAME: end -->. */
    block: { type: "string", default: "heap-profile" },
    "extra-arg": { type: "string", multiple: true, default: [] },
    /**
     * Heap snapshots (objects by constructor). They malloc tens of MiB in each process, which stays
     * resident and is reused by the sessions, so the RSS figures of a run with snapshots read low:
     * take the RSS table from a run without.
     */
    snapshots: { type: "boolean", default: false },
    /** Also profile every isolate's CPU while the sessions sign in; the .cpuprofile files go here. */
    "cpu-prof": { type: "string" },
  },
});
const counts = values.sessions.split(",").map(Number);
const TOP = Number(values.top);
const log = (msg: string) => process.stderr.write(`heap-profile: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The inspector: one WebSocket per process; a process's worker threads through NodeWorker.

type Json = Record<string, unknown>;
type Send = (
  method: string,
  params?: Json,
  onEvent?: (method: string, params: Json) => void,
) => Promise<Json>;

interface Target {
  label: string;
  send: Send;
}

function connect(url: string): Promise<{ ws: WebSocket; send: Send; on: (fn: (m: Json) => void) => void }> {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map<number, (r: Json) => void>();
  const listeners: ((m: Json) => void)[] = [];
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as Json;
    if (typeof msg.id === "number" && pending.has(msg.id)) {
      pending.get(msg.id)!(msg);
      pending.delete(msg.id);
    } else for (const fn of listeners) fn(msg);
  };
  const send: Send = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, send, on: (fn) => listeners.push(fn) });
    ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
  });
}

/** The targets of one process: its main thread and, through NodeWorker, each worker thread. */
async function targetsOf(url: string, label: string): Promise<{ targets: Target[]; close: () => void }> {
  const { ws, send, on } = await connect(url);
  const targets: Target[] = [{ label, send: (m, p, onEvent) => withEvents(send, on, m, p, onEvent) }];
  const workers: { sessionId: string; title: string }[] = [];
  on((msg) => {
    if (msg.method === "NodeWorker.attachedToWorker") {
      const p = msg.params as { sessionId: string; workerInfo: { title: string } };
      workers.push({ sessionId: p.sessionId, title: p.workerInfo.title });
    }
  });
  await send("NodeWorker.enable", { waitForDebuggerOnStart: false });
  await sleep(300);
  for (const w of workers) {
    let id = 0;
    const pending = new Map<number, (r: Json) => void>();
    let eventFn: ((method: string, params: Json) => void) | undefined;
    on((msg) => {
      if (msg.method !== "NodeWorker.receivedMessageFromWorker") return;
      const p = msg.params as { sessionId: string; message: string };
      if (p.sessionId !== w.sessionId) return;
      const inner = JSON.parse(p.message) as Json;
      if (typeof inner.id === "number" && pending.has(inner.id)) {
        pending.get(inner.id)!(inner);
        pending.delete(inner.id);
      } else if (typeof inner.method === "string") eventFn?.(inner.method, inner.params as Json);
    });
    const wsend: Send = (method, params = {}, onEvent) =>
      new Promise((resolve) => {
        const n = ++id;
        eventFn = onEvent;
        pending.set(n, resolve);
        void send("NodeWorker.sendMessageToWorker", {
          sessionId: w.sessionId,
          message: JSON.stringify({ id: n, method, params }),
        });
      });
    targets.push({ label: `${label} ${w.title}`, send: wsend });
  }
  return { targets, close: () => ws.close() };
}

async function withEvents(
  send: Send,
  on: (fn: (m: Json) => void) => void,
  method: string,
  params?: Json,
  onEvent?: (method: string, params: Json) => void,
): Promise<Json> {
  if (onEvent) {
    let active = true;
    on((msg) => {
      if (active && typeof msg.method === "string") onEvent(msg.method, msg.params as Json);
    });
    const r = await send(method, params);
    active = false;
    return r;
  }
  return send(method, params);
}

interface Usage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** V8's own figures: heap pages resident, and what V8 itself holds from malloc. */
  physical: number;
  malloced: number;
}

async function collect(t: Target): Promise<void> {
  await t.send("HeapProfiler.enable");
  for (let i = 0; i < 2; i++) await t.send("HeapProfiler.collectGarbage");
}

async function usageOf(t: Target): Promise<Usage> {
  const r = await t.send("Runtime.evaluate", {
    expression:
      "(() => { const s = process.getBuiltinModule('node:v8').getHeapStatistics(); " +
      "return JSON.stringify({ ...process.memoryUsage(), physical: s.total_physical_size, malloced: s.malloced_memory }); })()",
    returnByValue: true,
  });
  const value = ((r.result as Json).result as Json).value as string;
  return JSON.parse(value) as Usage;
}

async function snapshotOf(t: Target): Promise<HeapSummary> {
  const chunks: string[] = [];
  await t.send(
    "HeapProfiler.takeHeapSnapshot",
    { reportProgress: false, captureNumericValue: false },
    (m, p) => {
      if (m === "HeapProfiler.addHeapSnapshotChunk") chunks.push(p.chunk as string);
    },
  );
  return summarize(JSON.parse(chunks.join("")) as HeapSnapshot);
}

// ---------------------------------------------------------------------------
// Heap snapshots: objects by constructor, and the retained size of chosen constructors

interface HeapSnapshot {
  snapshot: {
    meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface HeapSummary {
  byClass: Map<string, { count: number; bytes: number }>;
  retained: Map<string, { count: number; bytes: number }>;
  total: number;
}

/** The per-session roots whose retained size (dominator tree) is reported. */
const ROOTS = ["ChatSession", "SessionIO", "Socket", "Member", "HubPeer"];

function summarize(h: HeapSnapshot): HeapSummary {
  const nf = h.snapshot.meta.node_fields;
  const ef = h.snapshot.meta.edge_fields;
  const NF = nf.length;
  const EF = ef.length;
  const T = nf.indexOf("type");
  const NAME = nf.indexOf("name");
  const SIZE = nf.indexOf("self_size");
  const EC = nf.indexOf("edge_count");
  const ET = ef.indexOf("type");
  const TO = ef.indexOf("to_node");
  const nodeTypes = h.snapshot.meta.node_types[0];
  const edgeTypes = h.snapshot.meta.edge_types[0];
  const weak = edgeTypes.indexOf("weak");
  const n = h.nodes.length / NF;
  const cls = new Array<string>(n);
  const byClass = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const type = nodeTypes[h.nodes[i * NF + T]!]!;
    const name = h.strings[h.nodes[i * NF + NAME]!]!;
    const key =
      type === "object" || type === "native"
        ? name.split(" ")[0]!.slice(0, 60)
        : type === "closure"
          ? "(closure)"
          : `(${type})`;
    cls[i] = key;
    const size = h.nodes[i * NF + SIZE]!;
    total += size;
    const e = byClass.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size;
    byClass.set(key, e);
  }
  // Successors (strong edges only), then dominators (Cooper, Harvey, Kennedy) from node 0.
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += h.nodes[i * NF + EC]! * EF;
    firstEdge[i + 1] = e;
  }
  const order = new Int32Array(n).fill(-1); // postorder number
  const post: number[] = [];
  const stack: number[] = [0];
  const iter = new Uint32Array(n);
  const seen = new Uint8Array(n);
  seen[0] = 1;
  for (let i = 0; i < n; i++) iter[i] = firstEdge[i]!;
  while (stack.length > 0) {
    const v = stack[stack.length - 1]!;
    let pushed = false;
    while (iter[v]! < firstEdge[v + 1]!) {
      const e = iter[v]!;
      iter[v] = e + EF;
      if (h.edges[e + ET] === weak) continue;
      const w = h.edges[e + TO]! / NF;
      if (seen[w]) continue;
      seen[w] = 1;
      stack.push(w);
      pushed = true;
      break;
    }
    if (!pushed) {
      stack.pop();
      order[v] = post.length;
      post.push(v);
    }
  }
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) {
    if (!seen[v]) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) {
      if (h.edges[e + ET] === weak) continue;
      const w = h.edges[e + TO]! / NF;
      preds[w]!.push(v);
    }
  }
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true, rounds = 0; changed && rounds < 50; rounds++) {
    changed = false;
    for (let k = post.length - 1; k >= 0; k--) {
      const v = post[k]!;
      if (v === 0) continue;
      let d = -1;
      for (const p of preds[v]!) {
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retainedSize = new Float64Array(n);
  for (let i = 0; i < n; i++) retainedSize[i] = seen[i] ? h.nodes[i * NF + SIZE]! : 0;
  for (const v of post) if (v !== 0 && idom[v]! >= 0) retainedSize[idom[v]!] += retainedSize[v]!;
  const retained = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < n; i++) {
    if (!ROOTS.includes(cls[i]!) || !seen[i]) continue;
    const e = retained.get(cls[i]!) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += retainedSize[i]!;
    retained.set(cls[i]!, e);
  }
  return { byClass, retained, total };
}

// ---------------------------------------------------------------------------
// The daemon and the sessions

const PASSWORD = "benchpw";

async function startDaemon(dir: string, n: number) {
  const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1, keylen: 32 });
  const users: Record<string, unknown> = {};
  const createdAt = new Date().toISOString();
  for (let i = 0; i < n; i++)
    users[`u${i}`] = { name: `u${i}`, createdAt, lastLoginAt: null, lastAddress: null, password: hash };
  writeFileSync(path.join(dir, "identities.json"), JSON.stringify({ version: 1, users }), { mode: 0o600 });
  const args = [
    path.join(repoRoot, "daemon", "main.ts"),
    ...["--host", "127.0.0.1", "--socket", path.join(dir, "control.sock"), "--state-dir", dir],
    ...["--log-dir", dir, "--log-level", "warn", "--max-per-address", "0", "--flood-rate", "0"],
    ...["--registrations-per-hour", "0", "--chat-port", "0", "--no-echo"],
    ...["--workers", values.workers, "--threads", values.threads, ...values["extra-arg"]],
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NODE_OPTIONS: "--inspect=127.0.0.1:0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const urls: string[] = [];
  let port = 0;
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`the daemon was not ready within 90 s; it printed:\n${seen.slice(-2000)}`)),
      90_000,
    );
    const scan = (text: string) => {
      seen += text;
      for (const m of text.matchAll(/Debugger listening on (ws:\/\/\S+)/g)) urls.push(m[1]!);
      const ready = /ready:.*chat=[^\s:]+:(\d+)/.exec(text);
      if (ready) port = Number(ready[1]);
      if (port && urls.length >= 1 + Number(values.workers)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.setEncoding("utf8").on("data", scan);
    child.stdout!.setEncoding("utf8").on("data", scan);
    child.on("exit", (code) => reject(new Error(`the daemon exited (${code})`)));
  });
  return { child, urls, port };
}

interface ProcessMeasure {
  label: string;
  pid: number;
  rss: number;
  mappings: Mappings;
  /** As found, before the forced collections: what chat-idle sees. */
  found: Mappings;
  isolates: { label: string; usage: Usage; heap: HeapSummary }[];
}

async function measure(urls: string[]): Promise<ProcessMeasure[]> {
  const out: ProcessMeasure[] = [];
  for (const [i, url] of urls.entries()) {
    const label = i === 0 ? "primary" : `worker ${i}`;
    const { targets, close } = await targetsOf(url, label);
    const pid = Number(
      (
        (
          (await targets[0]!.send("Runtime.evaluate", { expression: "process.pid", returnByValue: true }))
            .result as Json
        ).result as Json
      ).value,
    );
    const isolates: ProcessMeasure["isolates"] = [];
    const found = mappingsOf(pid);
    for (const t of targets) await collect(t);
    // Memory first: a heap snapshot mallocs tens of MiB in the process, which would count.
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const mappings = mappingsOf(pid);
    for (const t of targets) {
      // The worker process's own main thread holds no sessions: its usage only.
      const usage = await usageOf(t);
      const heap = !values.snapshots || (i > 0 && t === targets[0]) ? emptySummary() : await snapshotOf(t);
      isolates.push({ label: t.label, usage, heap });
    }
    close();
    out.push({ label, pid, rss: Number(m?.[1] ?? 0) * 1024, mappings, found, isolates });
  }
  return out;
}

/** Starts the CPU profiler in every isolate; stop() writes DIR/<n>-<isolate>.cpuprofile and answers a summary. */
async function startProfiles(urls: string[], dir: string, n: number) {
  mkdirSync(dir, { recursive: true });
  const all: { targets: Target[]; close: () => void }[] = [];
  for (const [i, url] of urls.entries()) all.push(await targetsOf(url, i === 0 ? "primary" : `worker ${i}`));
  const targets = all.flatMap((a) => a.targets);
  for (const t of targets) {
    await t.send("Profiler.enable");
    await t.send("Profiler.setSamplingInterval", { interval: 500 });
    await t.send("Profiler.start");
  }
  return {
    async stop(): Promise<string> {
      const lines: string[] = [];
      for (const t of targets) {
        const r = await t.send("Profiler.stop");
        const profile = (r.result as Json).profile as CpuProfile;
        const file = path.join(dir, `${n}-${t.label.replace(/\W+/g, "_")}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        lines.push(`${t.label}: ${file}`, ...topFunctions(profile, 12).map((l) => `  ${l}`));
      }
      for (const a of all) a.close();
      return lines.join("\n");
    },
  };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The functions with the most samples of their own, as `share name file:line`. */
function topFunctions(profile: CpuProfile, k: number): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${path.basename(f.url)}:${f.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([key, c]) => `${((100 * c) / total).toFixed(1).padStart(5)} % ${key}`);
}

/** Resident bytes of a process by kind of mapping (/proc/PID/smaps). */
interface Mappings {
  /** glibc's main arena (the brk heap). */
  brk: number;
  /** glibc's other arenas: anonymous regions at a 64 MiB boundary (HEAP_MAX_SIZE), one per arena. */
  arenas: number;
  /** Every other anonymous mapping: V8's heap pages, thread stacks, large malloc blocks (mmap). */
  anonymous: number;
  /** Files: the node binary, libraries. */
  files: number;
}

function mappingsOf(pid: number): Mappings {
  const out: Mappings = { brk: 0, arenas: 0, anonymous: 0, files: 0 };
  let kind: keyof Mappings = "anonymous";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      const file = head[4]!;
      kind =
        file === "[heap]"
          ? "brk"
          : file.startsWith("/")
            ? "files"
            : file === "" && start % (64n << 20n) === 0n
              ? "arenas"
              : "anonymous";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

function emptySummary(): HeapSummary {
  return { byClass: new Map(), retained: new Map(), total: 0 };
}

// ---------------------------------------------------------------------------
// Report

const kib = (b: number) => (b / 1024).toFixed(2);

function report(n: number, before: ProcessMeasure[], after: ProcessMeasure[]): string {
  const lines: string[] = [];
  lines.push(`### ${n.toLocaleString("en-US")} idle signed-in sessions`, "");
  const rssBefore = before.reduce((t, p) => t + p.rss, 0);
  const rssAfter = after.reduce((t, p) => t + p.rss, 0);
  // With snapshots, each process holds what its "before" snapshot malloced: its RSS would mislead.
  if (values.snapshots)
    lines.push(
      "RSS is not shown: the heap snapshots malloc tens of MiB in each process, which would count (run without --snapshots for it).",
      "",
      "| isolate | heap used | heap total | external | array buffers | retained per session root |",
      "|---|---:|---:|---:|---:|---|",
    );
  else
    lines.push(
      `RSS after a forced full collection in every isolate: ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB, ` +
        `**${kib((rssAfter - rssBefore) / n)} KiB per session** (all processes). Below, every figure is KiB per session ` +
        "(the difference with and without the sessions, divided by the sessions of the whole daemon).",
      "",
      "| isolate | RSS of its process | heap used | heap total | heap resident | V8 malloc | external | array buffers | retained per session root |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    );
  for (const [pi, p] of after.entries()) {
    const pb = before[pi]!;
    for (const [ii, iso] of p.isolates.entries()) {
      const ib = pb.isolates[ii]!;
      const d = (k: keyof Usage) => kib((iso.usage[k] - ib.usage[k]) / n);
      const roots = [...iso.heap.retained]
        .filter(([, v]) => v.count > 0)
        .map(([k, v]) => `${k} x${v.count}: ${kib(v.bytes / v.count)} KiB`)
        .join("; ");
      lines.push(
        values.snapshots
          ? `| ${iso.label} | ${d("heapUsed")} | ${d("heapTotal")} | ${d("external")} | ${d("arrayBuffers")} | ${roots || "-"} |`
          : `| ${iso.label} | ${ii === 0 ? kib((p.rss - pb.rss) / n) : "(same process)"} | ${d("heapUsed")} | ${d("heapTotal")} | ${d("physical")} | ${d("malloced")} | ${d("external")} | ${d("arrayBuffers")} | ${roots || "-"} |`,
      );
    }
  }
  if (!values.snapshots)
    lines.push(
      "",
      "Resident memory by kind of mapping (/proc/PID/smaps), KiB per session:",
      "",
      "| process | when | glibc main arena (brk) | glibc thread arenas | other anonymous (V8 heap, stacks, mmap) | files |",
      "|---|---|---:|---:|---:|---:|",
    );
  for (const [pi, p] of values.snapshots ? [] : after.entries()) {
    for (const when of ["found", "mappings"] as const) {
      const b = before[pi]![when];
      const d = (k: keyof Mappings) => kib((p[when][k] - b[k]) / n);
      const label = when === "found" ? "as found" : "after a full GC";
      lines.push(
        `| ${p.label} | ${label} | ${d("brk")} | ${d("arenas")} | ${d("anonymous")} | ${d("files")} |`,
      );
    }
  }
  lines.push("");
  for (const [pi, p] of after.entries()) {
    for (const [ii, iso] of p.isolates.entries()) {
      if (iso.heap.total === 0) continue;
      const b = before[pi]!.isolates[ii]!.heap;
      const rows = [...iso.heap.byClass]
        .map(([k, v]) => {
          const o = b.byClass.get(k) ?? { count: 0, bytes: 0 };
          return { k, count: (v.count - o.count) / n, bytes: (v.bytes - o.bytes) / n };
        })
        .sort((x, y) => y.bytes - x.bytes)
        .slice(0, TOP);
      lines.push(
        `${iso.label}: heap objects per session by constructor (snapshot difference / ${n}; all: ${kib((iso.heap.total - b.total) / n)} KiB)`,
        "",
        "| constructor | objects | bytes |",
        "|---|---:|---:|",
        ...rows.map((r) => `| ${r.k} | ${r.count.toFixed(2)} | ${Math.round(r.bytes)} |`),
        "",
      );
    }
  }
  return lines.join("\n");
}

async function run(n: number): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsd-heap-"));
  mkdirSync(dir, { recursive: true });
  const { child, urls, port } = await startDaemon(dir, n);
  try {
    await sleep(1500);
    log(`${n}: daemon up (port ${port}, ${urls.length} processes); measuring before`);
    const before = await measure(urls);
    const chatgen = ensureChatgen(log);
    const profiling = values["cpu-prof"] ? await startProfiles(urls, values["cpu-prof"], n) : null;
    let resolveReady: (k: number) => void = () => {};
    const ready = new Promise<number>((r) => {
      resolveReady = r;
    });
    const handle = startChatgen(
      chatgen,
      ["--port", String(port), "--proto", "tsd", "--password", PASSWORD, "--prefix", "u"]
        .concat(["--mode", "idle", "--receivers", String(n), "--senders", "0"])
        .concat(["--setup-timeout", "120", "--duration", "600"]),
      {
        limitS: 900,
        onLine: (line) => line.startsWith("ready ") && resolveReady(Number(line.split(" ")[1])),
      },
    );
    const signedIn = await Promise.race([ready, handle.done.then(() => 0)]);
    if (profiling) log(await profiling.stop());
    log(`${n}: ${signedIn} signed in; measuring with them`);
    await sleep(2000);
    const after = await measure(urls);
    handle.closeStdin();
    await handle.done;
    return report(signedIn || n, before, after);
  } finally {
    process.kill(-child.pid!, "SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const sections: string[] = [];
for (const n of counts) sections.push(await run(n));
const shape = `${values.workers} process x ${values.threads} threads`;
const text = [
  `Measured by \`node scripts/run-ts.js scripts/heap-profile.ts ${process.argv.slice(2).join(" ")}\` ` +
    `(${shape}, ${new Date().toISOString().slice(0, 10)}, load average ${os.loadavg()[0]!.toFixed(1)}):`,
  "",
  ...sections,
].join("\n");
process.stdout.write(`${text}\n`);
if (values["write-docs"]) {
  const file = path.join(repoRoot, "docs", "performance.md");
  const doc = readFileSync(file, "utf8");
  const begin = `<!-- ${values.block}: begin -->`;
  const end = `<!-- ${values.block}: end -->`;
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${begin} ... ${end} block`);
  writeFileSync(file, `${doc.slice(0, a + begin.length)}\n${text}\n${doc.slice(b)}`);
  log("docs/performance.md updated");
}
process.exit(0);
