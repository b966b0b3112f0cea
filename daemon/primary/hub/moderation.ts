import { AddressBanList, type AddressBanRule, type BanTarget } from "../../../protocol/ban-target.ts";
import type { BanEntry } from "../../../protocol/rpc.ts";
import { MAX_BANS, MAX_MUTES } from "../../shared/limits.ts";
import type { HubModeration } from "./chat-hub.ts";
import {
  type Ban,
  type ModerationState,
  type Mute,
  readModerationFile,
  writeModerationFile,
} from "./moderation-file.ts";

export type { Ban, Mute } from "./moderation-file.ts";

/** bans.add or users.mute when the list already holds its bound (MAX_BANS, MAX_MUTES). */
export class ModerationListFull extends Error {
  constructor(what: "bans" | "mutes", max: number) {
    super(`there are already ${max} ${what}, the most there may be; remove some first`);
    this.name = "ModerationListFull";
  }
}

/** setTimeout's longest delay; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer (unref'd) for the earliest expiry among the bans and mutes, or null when none expires;
 * an expiry past setTimeout's range is reached in steps (onDue re-arms).
 */
export function expiryTimer(
  entries: Iterable<{ until: number | null }>,
  now: number,
  onDue: () => void,
): NodeJS.Timeout | null {
  let next = Number.POSITIVE_INFINITY;
  for (const entry of entries) if (entry.until !== null && entry.until < next) next = entry.until;
  if (next === Number.POSITIVE_INFINITY) return null;
  const timer = setTimeout(onDue, Math.min(MAX_TIMER_MS, Math.max(0, next - now)));
  timer.unref();
  return timer;
}

/**
 * The bans and mutes as the hub checks them and the control methods change them: moderation.json
 * on a daemon of its own (Moderation), the cluster's in Redis with --hub redis
 * (cluster/redis-moderation.ts).
 */
export interface BansAndMutes extends HubModeration {
  /** Called with the address bans in force whenever they change (the hub pushes them to every thread). */
  onAddressBans: (rules: AddressBanRule[]) => void;
  list(): BanEntry[] | Promise<BanEntry[]>;
  ban(target: BanTarget, reason: string | null, forSeconds: number | null): Promise<Ban>;
  unban(target: BanTarget): Promise<boolean>;
  mute(key: string, name: string, forSeconds: number | null): Promise<Mute>;
  unmute(key: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Bans are kept by what they name: an address or network by its canonical text, a name by its key. */
export function banKey(target: BanTarget): string {
  return target.kind === "address" ? `a ${target.target}` : `n ${target.key}`;
}

export const active = (until: number | null, now: number) => until === null || until > now;

/** A ban as bans.list answers it. */
export function banEntry(ban: Ban): BanEntry {
  return {
    target: ban.target.target,
    reason: ban.reason,
    createdAt: new Date(ban.createdAt).toISOString(),
    until: ban.until === null ? null : new Date(ban.until).toISOString(),
  };
}

/**
 * Moderation holds the bans and mutes: checked by the hub at sign-in and on every line, changed
 * by the control methods, kept in moderation.json in the state directory. Every change is
 * written (atomically) before it takes effect, one at a time, so what the operator was told
 * is what a restart finds. Expired entries stop counting at once and are dropped by a timer,
 * which also tells the threads their new address list; the file loses them at its next write
 * (and a restart never loads them).
 */
export class Moderation implements BansAndMutes {
  readonly file: string;
  /** Called with the address bans in force whenever they change (the hub pushes them to every thread). */
  onAddressBans: (rules: AddressBanRule[]) => void = () => {};
  readonly #now: () => number;
  #bans = new Map<string, Ban>();
  #mutes = new Map<string, Mute>();
  #addresses = new AddressBanList([]);
  #writes: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(file: string, state: ModerationState, now: () => number) {
    this.file = file;
    this.#now = now;
    for (const ban of state.bans) this.#bans.set(banKey(ban.target), ban);
    for (const mute of state.mutes) this.#mutes.set(mute.key, mute);
    this.#addresses = new AddressBanList(this.addressRules());
    this.#schedule();
  }

  /** Reads the file (rejects with ModerationFileCorrupt if it cannot be used). */
  static async open(file: string, now: () => number = Date.now): Promise<Moderation> {
    return new Moderation(file, await readModerationFile(file, now()), now);
  }

  /** The ban in force on this name's key, if any. */
  nameBan(key: string): Ban | null {
    const ban = this.#bans.get(`n ${key}`);
    return ban && active(ban.until, this.#now()) ? ban : null;
  }

  /** The ban in force on this client address (by address or network), if any. */
  addressBan(address: string): AddressBanRule | null {
    return this.#addresses.match(address, this.#now());
  }

  /** The mute in force on this account key, if any. */
  muteOf(key: string): Mute | null {
    const mute = this.#mutes.get(key);
    return mute && active(mute.until, this.#now()) ? mute : null;
  }

  /** The bans in force, oldest first, as bans.list answers. */
  list(): BanEntry[] {
    const now = this.#now();
    return [...this.#bans.values()]
      .filter((b) => active(b.until, now))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(banEntry);
  }

  /** The address bans in force, as the threads hold them. */
  addressRules(): AddressBanRule[] {
    const now = this.#now();
    const rules: AddressBanRule[] = [];
    for (const ban of this.#bans.values())
      if (ban.target.kind === "address" && active(ban.until, now))
        rules.push({ target: ban.target.target, reason: ban.reason, until: ban.until });
    return rules;
  }

  /** Bans target (a ban already on it is replaced: new reason, new expiry); resolves once it is in the file. */
  ban(target: BanTarget, reason: string | null, forSeconds: number | null): Promise<Ban> {
    return this.#change((state, now) => {
      const key = banKey(target);
      const bans = new Map(state.bans);
      bans.delete(key);
      if (bans.size >= MAX_BANS) throw new ModerationListFull("bans", MAX_BANS);
      const ban: Ban = {
        target,
        reason,
        createdAt: now,
        until: forSeconds === null ? null : now + forSeconds * 1000,
      };
      bans.set(key, ban);
      return { bans, result: ban };
    });
  }

  /** Lifts the ban on target; false when there was none in force. */
  unban(target: BanTarget): Promise<boolean> {
    return this.#change((state, now) => {
      const key = banKey(target);
      const ban = state.bans.get(key);
      if (!ban || !active(ban.until, now)) return { result: false };
      const bans = new Map(state.bans);
      bans.delete(key);
      return { bans, result: true };
    });
  }

  /** Mutes the account of key (name as typed); a mute already on it is replaced. */
  mute(key: string, name: string, forSeconds: number | null): Promise<Mute> {
    return this.#change((state, now) => {
      const mutes = new Map(state.mutes);
      mutes.delete(key);
      if (mutes.size >= MAX_MUTES) throw new ModerationListFull("mutes", MAX_MUTES);
      const mute: Mute = {
        key,
        name,
        createdAt: now,
        until: forSeconds === null ? null : now + forSeconds * 1000,
      };
      mutes.set(key, mute);
      return { mutes, result: mute };
    });
  }

  /** Lifts the mute of key; false when there was none in force. */
  unmute(key: string): Promise<boolean> {
    return this.#change((state, now) => {
      const mute = state.mutes.get(key);
      if (!mute || !active(mute.until, now)) return { result: false };
      const mutes = new Map(state.mutes);
      mutes.delete(key);
      return { mutes, result: true };
    });
  }

  /** Stops the expiry timer; later changes are refused. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    return this.#writes.then(
      () => {},
      () => {},
    );
  }

  /**
   * Runs one change after the ones before it: `edit` gets the current maps and returns the new
   * ones (or none, when nothing changes); the new state is written to the file and only then
   * made current. A write that fails changes nothing and rejects.
   */
  #change<T>(
    edit: (
      state: { bans: ReadonlyMap<string, Ban>; mutes: ReadonlyMap<string, Mute> },
      now: number,
    ) => { bans?: Map<string, Ban>; mutes?: Map<string, Mute>; result: T },
  ): Promise<T> {
    const run = this.#writes.then(async () => {
      if (this.#closed) throw new Error("the daemon is stopping");
      const now = this.#now();
      const { bans, mutes, result } = edit({ bans: this.#bans, mutes: this.#mutes }, now);
      if (!bans && !mutes) return result;
      const nextBans = bans ?? this.#bans;
      const nextMutes = mutes ?? this.#mutes;
      // Expired entries are not written: the file holds what is in force.
      await writeModerationFile(this.file, {
        bans: [...nextBans.values()].filter((b) => active(b.until, now)),
        mutes: [...nextMutes.values()].filter((m) => active(m.until, now)),
      });
      this.#bans = nextBans;
      this.#mutes = nextMutes;
      if (bans) this.#addressesChanged();
      this.#schedule();
      return result;
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  #addressesChanged(): void {
    const rules = this.addressRules();
    this.#addresses = new AddressBanList(rules);
    this.onAddressBans(rules);
  }

  /** Arms the timer for the next expiry. */
  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#closed) return;
    this.#timer = expiryTimer([...this.#bans.values(), ...this.#mutes.values()], this.#now(), () =>
      this.#expire(),
    );
  }

  /** Drops what has expired from memory (the file keeps it until its next write) and tells the threads. */
  #expire(): void {
    const now = this.#now();
    let addressesGone = false;
    for (const [key, ban] of this.#bans)
      if (!active(ban.until, now)) {
        this.#bans.delete(key);
        if (ban.target.kind === "address") addressesGone = true;
      }
    for (const [key, mute] of this.#mutes) if (!active(mute.until, now)) this.#mutes.delete(key);
    if (addressesGone) this.#addressesChanged();
    this.#schedule();
  }
}
