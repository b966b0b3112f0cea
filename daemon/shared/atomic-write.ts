import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import path from "node:path";

export interface AtomicWriteOptions {
  /** The temp copy's path, in the file's directory (rename is atomic only within one filesystem). */
  temp: string;
  /** The file's mode, set on the temp copy before it takes the file's place. */
  mode: number;
  /** Refuse a temp copy that exists already (its name is meant to be unique); else it is overwritten. */
  exclusive?: boolean;
  /** Last check before the rename; throwing here leaves the file as it was. */
  beforeRename?: () => void;
}

/**
 * Replaces file by data all at once: written to a temp copy, fsynced, renamed over the file,
 * then the directory fsynced so the rename survives a power cut. A reader sees the old file
 * or the new one, never a part. On failure the temp copy is removed and the file untouched.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Buffer,
  opts: AtomicWriteOptions,
): Promise<void> {
  // Opened outside the try: a temp copy that is not ours (EEXIST) is never removed.
  let handle: FileHandle | null = await open(opts.temp, opts.exclusive ? "wx" : "w", opts.mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(opts.mode);
    await handle.sync();
    await handle.close();
    handle = null;
    opts.beforeRename?.();
    await rename(opts.temp, file);
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(opts.temp).catch(() => {});
    throw error;
  }
  await syncDir(path.dirname(file));
}

/** Makes a rename in dir durable; best effort: not every platform can fsync a directory. */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // the rename itself is still atomic
  } finally {
    await handle?.close().catch(() => {});
  }
}
