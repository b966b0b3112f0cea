import { randomBytes } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { BadBanTarget, type BanTarget, parseBanTarget } from "../../../protocol/ban-target.ts";
import { checkName } from "../../../protocol/names.ts";
import { writeFileAtomically } from "../../shared/atomic-write.ts";
import { MAX_BANS, MAX_MUTES } from "../../shared/limits.ts";

/** The moderation file exists but cannot be used; as with identities.json, tsd never overwrites it. */
export class ModerationFileCorrupt extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file} ${problem}; fix or move it; tsd never overwrites it`);
    this.name = "ModerationFileCorrupt";
    this.file = file;
  }
}

export const MODERATION_FILE_VERSION = 1;
const FILE_MODE = 0o600;

/** One ban: times in ms since the epoch; `until` null when permanent. */
export interface Ban {
  target: BanTarget;
  reason: string | null;
  createdAt: number;
  until: number | null;
}

/** One mute, by account key; `name` as the operator typed it. */
export interface Mute {
  key: string;
  name: string;
  createdAt: number;
  until: number | null;
}

export interface ModerationState {
  bans: readonly Ban[];
  mutes: readonly Mute[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An ISO time as ms, or null for null; undefined when it is neither (the record is bad). */
function time(value: unknown, nullable: boolean): number | null | undefined {
  if (value === null) return nullable ? null : undefined;
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Parses the file's text, or says what is wrong with it; records that have expired by now are left out. */
export function parseModerationFile(text: string, now: number): ModerationState | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { problem: `is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isPlainObject(data)) return { problem: "is not a JSON object" };
  if (data.version !== MODERATION_FILE_VERSION)
    return {
      problem: `has version ${JSON.stringify(data.version)}; this tsd reads version ${MODERATION_FILE_VERSION}`,
    };
  const rawBans = data.bans ?? [];
  const rawMutes = data.mutes ?? [];
  if (!Array.isArray(rawBans) || !Array.isArray(rawMutes))
    return { problem: 'has "bans" or "mutes" that is not a list' };
  if (rawBans.length > MAX_BANS) return { problem: `holds ${rawBans.length} bans, more than ${MAX_BANS}` };
  if (rawMutes.length > MAX_MUTES)
    return { problem: `holds ${rawMutes.length} mutes, more than ${MAX_MUTES}` };
  const bans: Ban[] = [];
  for (const [i, record] of rawBans.entries()) {
    const where = `ban ${i + 1}`;
    if (!isPlainObject(record) || typeof record.target !== "string")
      return { problem: `has a ${where} without a target` };
    let target: BanTarget;
    try {
      target = parseBanTarget(record.target);
    } catch (error) {
      if (error instanceof BadBanTarget)
        return { problem: `has a ${where} whose target is bad: ${error.message}` };
      throw error;
    }
    const createdAt = time(record.createdAt, false);
    const until = time(record.until, true);
    const reason = record.reason ?? null;
    if (
      createdAt === undefined ||
      createdAt === null ||
      until === undefined ||
      !(reason === null || typeof reason === "string")
    )
      return { problem: `has a ${where} whose createdAt, until or reason is malformed` };
    if (until === null || until > now) bans.push({ target, reason, createdAt, until });
  }
  const mutes: Mute[] = [];
  for (const [i, record] of rawMutes.entries()) {
    const where = `mute ${i + 1}`;
    const checked = isPlainObject(record) && typeof record.name === "string" ? checkName(record.name) : null;
    if (!checked?.ok) return { problem: `has a ${where} without a valid name` };
    const createdAt = time((record as Record<string, unknown>).createdAt, false);
    const until = time((record as Record<string, unknown>).until, true);
    if (createdAt === undefined || createdAt === null || until === undefined)
      return { problem: `has a ${where} whose createdAt or until is malformed` };
    if (until === null || until > now) mutes.push({ key: checked.key, name: checked.name, createdAt, until });
  }
  return { bans, mutes };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function serializeModerationFile(state: ModerationState): string {
  const data = {
    version: MODERATION_FILE_VERSION,
    bans: state.bans.map((b) => ({
      target: b.target.target,
      reason: b.reason,
      createdAt: iso(b.createdAt),
      until: iso(b.until),
    })),
    mutes: state.mutes.map((m) => ({ name: m.name, createdAt: iso(m.createdAt), until: iso(m.until) })),
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Temp copies are `<file>.<pid>.<12 hex>.tmp`. */
const TEMP_COPY = /^\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Reads the file at start (missing: nothing is banned or muted). A file that cannot be used
 * stops the start, as identities.json does: the operator may have meant every one of its bans,
 * and a daemon that started without them would let the banned back in.
 */
export async function readModerationFile(file: string, now: number): Promise<ModerationState> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { bans: [], mutes: [] };
    throw new ModerationFileCorrupt(file, `cannot be read (${(error as Error).message})`);
  }
  const parsed = parseModerationFile(text, now);
  if ("problem" in parsed) throw new ModerationFileCorrupt(file, parsed.problem);
  return parsed;
}

/** Replaces the file with state, atomically (temp copy, fsync, rename), mode 0600. */
export function writeModerationFile(file: string, state: ModerationState): Promise<void> {
  return writeFileAtomically(file, serializeModerationFile(state), {
    temp: `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
    mode: FILE_MODE,
    exclusive: true,
  });
}

/** Removes the temp copies a write killed half-way left; only for the holder of the state directory's lock. */
export async function removeModerationLeftovers(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const names = await readdir(dir).catch(() => [] as string[]);
  const leftovers = names.filter((n) => n.startsWith(base) && TEMP_COPY.test(n.slice(base.length)));
  for (const name of leftovers) await rm(path.join(dir, name), { force: true });
  return leftovers;
}
