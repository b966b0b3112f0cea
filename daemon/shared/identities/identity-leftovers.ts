import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { lockDirName, TEMP_COPY_SUFFIX } from "./identity-writes.ts";

/**
 * Removes what an identity write killed half-way (kill -9, a power cut) leaves behind for ever:
 * its temp copies, which are whole copies of the file with every password hash, and the
 * proper-lockfile lock directory. Only for a caller that holds the state directory's lock, so no
 * live writer owns them. Resolves with the names removed.
 */
export async function removeIdentityLeftovers(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const lockDir = lockDirName(file);
  const isLeftover = (name: string) =>
    name === lockDir || (name.startsWith(base) && TEMP_COPY_SUFFIX.test(name.slice(base.length)));
  const removed: string[] = [];
  for (const name of names.filter(isLeftover)) {
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
