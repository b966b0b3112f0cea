import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Why a small tmpfs cannot be mounted here (not root, no mount), or null when it can. */
export function smallDiskUnavailable(): string | null {
  if (process.platform !== "linux") return "a small tmpfs needs Linux";
  if (process.getuid?.() !== 0) return "mounting a small tmpfs needs root";
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-tmpfs-probe-"));
  try {
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], {
      encoding: "utf8",
    });
    if (mounted.status !== 0) {
      return `mount -t tmpfs failed: ${mounted.stderr?.trim() || mounted.error?.message || `status ${mounted.status}`}`;
    }
    spawnSync("umount", [probe]);
    return null;
  } finally {
    fs.rmdirSync(probe);
  }
}

/**
 * SmallDisk is a tmpfs of a few pages mounted on a directory: a disk that really fills up
 * (ENOSPC from the kernel), and gets room again when the filler file is removed.
 */
export class SmallDisk {
  readonly dir: string;
  private readonly filler: string;
  private mounted = true;

  private constructor(dir: string) {
    this.dir = dir;
    this.filler = path.join(dir, "filler");
  }

  /** Mounts a tmpfs of sizeBytes on dir (created if missing). */
  static mount(dir: string, sizeBytes: number): SmallDisk {
    fs.mkdirSync(dir, { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", dir], {
      encoding: "utf8",
    });
    if (mounted.status !== 0) throw new Error(`cannot mount a tmpfs on ${dir}: ${mounted.stderr}`);
    return new SmallDisk(dir);
  }

  /** Writes a filler file until the kernel says ENOSPC, down to single bytes; returns its size. */
  fill(): number {
    const fd = fs.openSync(this.filler, "a");
    let size = 0;
    try {
      for (const chunk of [4096, 512, 64, 1]) {
        const data = Buffer.alloc(chunk, 0x78);
        // bounded: the disk holds at most its size
        for (let i = 0; i < 1 << 20; i++) {
          try {
            size += fs.writeSync(fd, data);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
            throw error;
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return size;
  }

  /** Gives the room back. */
  free(): void {
    fs.rmSync(this.filler, { force: true });
  }

  /** Unmounts (lazily if something still has it open). Safe to call twice. */
  unmount(): void {
    if (!this.mounted) return;
    this.mounted = false;
    const done = spawnSync("umount", [this.dir]);
    if (done.status !== 0) spawnSync("umount", ["-l", this.dir]);
  }
}
