// A CPU budget for one process of the bench: a cgroup of its own whose CFS quota lets it run at
// most `fraction` of one core (cgroup v1's cpu controller, or v2's cpu.max). Lets a server be the
// limit on a machine whose cores would otherwise run out on the load generator's side first.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The period of the quota: short, so a throttled process waits milliseconds, not 100 ms. */
const PERIOD_US = 10_000;

/** The bench cannot give a process a CPU budget here (not root, no cpu controller). */
export class CpuBudgetUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CpuBudgetUnavailable";
  }
}

function cpuHierarchy(): { dir: string; v2: boolean } | null {
  if (existsSync("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) return { dir: "/sys/fs/cgroup/cpu", v2: false };
  try {
    const controllers = readFileSync("/sys/fs/cgroup/cgroup.subtree_control", "latin1");
    if (controllers.split(/\s+/).includes("cpu")) return { dir: "/sys/fs/cgroup", v2: true };
  } catch {}
  return null;
}

export class CpuBudget {
  readonly fraction: number;
  private readonly dir: string;

  private constructor(dir: string, fraction: number) {
    this.dir = dir;
    this.fraction = fraction;
  }

  /** A new cgroup allowing `fraction` of a core; throws CpuBudgetUnavailable with the reason. */
  static create(name: string, fraction: number): CpuBudget {
    const hierarchy = cpuHierarchy();
    if (!hierarchy)
      throw new CpuBudgetUnavailable("no writable cgroup cpu controller (cgroup v1 cpu or v2 cpu.max)");
    const dir = path.join(hierarchy.dir, name);
    const quota = Math.max(1000, Math.round(fraction * PERIOD_US));
    try {
      mkdirSync(dir);
      if (hierarchy.v2) writeFileSync(path.join(dir, "cpu.max"), `${quota} ${PERIOD_US}`);
      else {
        writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
        writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(quota));
      }
    } catch (error) {
      try {
        rmdirSync(dir);
      } catch {}
      throw new CpuBudgetUnavailable(`cannot make a cgroup with a CPU quota: ${(error as Error).message}`);
    }
    return new CpuBudget(dir, quota / PERIOD_US);
  }

  /** Moves the process (all its threads) into the budget. */
  add(pid: number): void {
    writeFileSync(path.join(this.dir, "cgroup.procs"), String(pid));
  }

  /** Its cpu.stat: how long the quota held its processes back. */
  get statFile(): string {
    return path.join(this.dir, "cpu.stat");
  }

  /** Removes the cgroup; its processes must have ended. */
  remove(): void {
    try {
      rmdirSync(this.dir);
    } catch {}
  }
}
