// Process-level helpers: CPU accounting from /proc, CPU pinning with taskset,
// and looking up commands on PATH. Linux-specific; every helper degrades to
// "unknown" instead of failing elsewhere.
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Absolute path of `cmd` on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, cmd);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

let clockTicks: number | undefined;

/** Kernel clock ticks per second (the unit of utime/stime in /proc/PID/stat). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2000 }).trim());
    } catch {
      clockTicks = Number.NaN;
    }
    if (!(clockTicks > 0)) clockTicks = 100;
  }
  return clockTicks;
}

interface StatLine {
  pid: number;
  ppid: number;
  ticks: number; // utime + stime, all threads
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** CPU ticks of every live process at one instant. */
export type ProcessSnapshot = Map<number, StatLine>;

export function processSnapshot(): ProcessSnapshot {
  const snap: ProcessSnapshot = new Map();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return snap;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) snap.set(st.pid, st);
  }
  return snap;
}

/** `rootPid` and all its descendants in a snapshot. */
export function processTree(snap: ProcessSnapshot, rootPid: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const st of snap.values()) {
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
  }
  const tree = new Set<number>();
  if (!snap.has(rootPid)) return tree;
  const stack = [rootPid];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    tree.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** CPU seconds used by the given processes between two snapshots (new processes count from 0). */
export function cpuBetween(start: ProcessSnapshot, end: ProcessSnapshot, pids: Iterable<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    const e = end.get(pid);
    if (e) ticks += Math.max(0, e.ticks - (start.get(pid)?.ticks ?? 0));
  }
  return ticks / clkTck();
}

/**
 * CPU seconds used so far by `rootPid` and all its live descendants (worker
 * processes included; threads are part of their process's figure).
 * Returns NaN when /proc is unavailable or the process is gone.
 */
export function treeCpuSeconds(rootPid: number): number {
  const snap = processSnapshot();
  const tree = processTree(snap, rootPid);
  if (tree.size === 0) return Number.NaN;
  let ticks = 0;
  for (const pid of tree) ticks += snap.get(pid)!.ticks;
  return ticks / clkTck();
}

/**
 * Busy and idle (idle + iowait) seconds so far of the listed CPUs, summed,
 * from /proc/stat. NaN when unavailable.
 */
export function cpuTimes(cpus: readonly number[]): { busy: number; idle: number } {
  try {
    const stat = readFileSync("/proc/stat", "utf8");
    let busy = 0;
    let idle = 0;
    for (const cpu of cpus) {
      const m = new RegExp(`^cpu${cpu} (.*)$`, "m").exec(stat);
      if (!m) return { busy: Number.NaN, idle: Number.NaN };
      // user nice system idle iowait irq softirq steal (guest time is inside user)
      const f = m[1]!.trim().split(/\s+/).map(Number).slice(0, 8);
      const quiet = f[3]! + f[4]!;
      idle += quiet;
      busy += f.reduce((x, y) => x + y, 0) - quiet;
    }
    return { busy: busy / clkTck(), idle: idle / clkTck() };
  } catch {
    return { busy: Number.NaN, idle: Number.NaN };
  }
}

/** "1,3-5" -> [1, 3, 4, 5] */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
  }
  return cpus;
}

/** The CPUs this process may run on (from /proc/self/status), or [0..n-1]. */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
    if (m) {
      const cpus = parseCpuList(m[1]!);
      if (cpus.length > 0) return cpus;
    }
  } catch {
    // fall through
  }
  return Array.from({ length: os.availableParallelism() }, (_, i) => i);
}

export interface Pinning {
  enabled: boolean;
  /** taskset CPU list for the load generator, e.g. "0". */
  loadgenCpus?: string;
  /** taskset CPU list for every server, e.g. "1" or "1-7". */
  serverCpus?: string;
  /** One human-readable sentence for the report. */
  note: string;
}

/**
 * Load generator on the first allowed CPU, every server on the remaining ones
 * (the same set for every server, so the comparison is fair). Needs taskset
 * and at least two CPUs; otherwise nothing is pinned and the note says so.
 */
export function planPinning(wanted: boolean): Pinning {
  const cpus = allowedCpus();
  if (!wanted)
    return { enabled: false, note: "CPU pinning disabled (--no-pin): all processes share all CPUs." };
  if (!which("taskset"))
    return { enabled: false, note: "taskset not found: nothing pinned, all processes share all CPUs." };
  if (cpus.length < 2)
    return {
      enabled: false,
      note: `only ${cpus.length} CPU available: nothing pinned, load generator and server share it.`,
    };
  const loadgenCpus = String(cpus[0]);
  const serverCpus = cpus.slice(1).join(",");
  // Make sure taskset actually works here (some containers forbid sched_setaffinity).
  const probe = spawnSync("taskset", ["-c", serverCpus, "true"], { timeout: 5000 });
  if (probe.status !== 0)
    return { enabled: false, note: "taskset failed here: nothing pinned, all processes share all CPUs." };
  const n = cpus.length - 1;
  return {
    enabled: true,
    loadgenCpus,
    serverCpus,
    note:
      `load generator pinned to CPU ${loadgenCpus}; every server (with all its worker processes and threads) ` +
      `pinned to CPU${n > 1 ? "s" : ""} ${serverCpus}, i.e. ${n} core${n > 1 ? "s" : ""} each.`,
  };
}

/** Prefix a command with `taskset -c CPUS` when a CPU list is given. */
export function pinned(cpus: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpus ? ["taskset", ["-c", cpus, cmd, ...args]] : [cmd, args];
}
