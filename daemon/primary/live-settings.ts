import type { LiveLimits, LogLevel } from "../../protocol/hub-messages.ts";
import { ConfigFileError } from "./config-file.ts";
import {
  BadOptionValue,
  checkConfigFileOptions,
  checkOptionValue,
  DAEMON_OPTIONS,
  type OptionValues,
  UsageError,
} from "./options.ts";

/** The options config.set may change while the daemon runs (control.md), in name order. */
export const LIVE_OPTIONS = [
  "flood-burst",
  "flood-queue",
  "flood-rate",
  "log-level",
  "login-timeout",
  "max-line",
  "max-per-address",
  "output-limit",
] as const;

export type LiveOption = (typeof LIVE_OPTIONS)[number];

/** config.get or config.set of a key that is not an option of tsd-daemon. */
export class UnknownOption extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`${key} is not an option of tsd-daemon (tsd-daemon --help lists them)`);
    this.name = "UnknownOption";
    this.key = key;
  }
}

/** config.set of an option that only a restart can change. */
export class NeedsRestart extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`${key} needs a restart: only ${LIVE_OPTIONS.join(", ")} change while the daemon runs`);
    this.name = "NeedsRestart";
    this.key = key;
  }
}

/** One changed option: its new value and the one before. */
export interface SettingChange {
  key: string;
  value: OptionValues[string];
  previous: OptionValues[string];
}

function isLive(key: string): key is LiveOption {
  return (LIVE_OPTIONS as readonly string[]).includes(key) && Object.hasOwn(DAEMON_OPTIONS, key);
}

/** Two values of one option alike: a list (reserved-names) by its items. */
function sameValue(a: OptionValues[string] | undefined, b: OptionValues[string] | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A URL's password is a secret: config.get shows it as ***. */
function withoutSecret(value: OptionValues[string]): OptionValues[string] {
  if (typeof value !== "string") return value;
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, "$1***@");
}

/**
 * LiveSettings holds the options in force (by command-line name) in the primary. A change is
 * checked whole before any of it is applied (the option parser's own coercers), then handed to
 * onChange, which carries it to the logger, the hub and every session thread.
 */
export class LiveSettings {
  private readonly values: OptionValues;
  private readonly onChange: (changes: readonly SettingChange[]) => void;
  /** The restart-only options whose value in the config file, as last reloaded, differs from the one in force. */
  private waiting: string[] = [];

  constructor(inForce: OptionValues, onChange: (changes: readonly SettingChange[]) => void) {
    this.values = { ...inForce };
    this.onChange = onChange;
  }

  /** config.get: every option in force, or only key's; never a secret. */
  get(key?: string): OptionValues {
    if (key !== undefined) {
      if (!Object.hasOwn(this.values, key)) throw new UnknownOption(key);
      return { [key]: withoutSecret(this.values[key]!) };
    }
    return Object.fromEntries(Object.entries(this.values).map(([k, v]) => [k, withoutSecret(v)]));
  }

  /** config.set of one option; see setMany. */
  set(key: string, value: unknown): SettingChange {
    const changes = this.setMany({ [key]: value });
    return changes[0] ?? { key, value: this.values[key]!, previous: this.values[key]! };
  }

  /**
   * Sets live options: every key and value is checked first (UnknownOption, NeedsRestart,
   * BadOptionValue), so a bad one changes nothing; then the values that differ are applied.
   * Returns what changed.
   */
  setMany(update: Record<string, unknown>): SettingChange[] {
    const checked: [LiveOption, OptionValues[string]][] = [];
    for (const [key, raw] of Object.entries(update)) {
      if (!Object.hasOwn(this.values, key) || !Object.hasOwn(DAEMON_OPTIONS, key))
        throw new UnknownOption(key);
      if (!isLive(key)) throw new NeedsRestart(key);
      checked.push([key, checkOptionValue(key, raw)]);
    }
    const changes: SettingChange[] = [];
    for (const [key, value] of checked) {
      const previous = this.values[key]!;
      if (previous === value) continue;
      this.values[key] = value;
      changes.push({ key, value, previous });
    }
    if (changes.length > 0) this.onChange(changes);
    return changes;
  }

  /**
   * reload's "config" step: the live options of the config file's values, but for those given
   * by flag or TSD_* variable (pinned), which win over the file as at start. All or nothing: the
   * whole file is checked as at start first (an unknown option, a bad value, pinned or not: a
   * file a restart would refuse), and then a fault is a ConfigFileError that changes nothing.
   * Answers the restart-only options whose value in the file differs from the one in force
   * (they wait for a restart).
   */
  reloadFrom(file: string, values: Record<string, unknown>, pinned: ReadonlySet<string>): string[] {
    const update: Record<string, unknown> = {};
    const waiting: string[] = [];
    try {
      checkConfigFileOptions(file, values);
      for (const [key, value] of Object.entries(values)) {
        if (pinned.has(key)) continue;
        if (isLive(key)) update[key] = value;
        else if (!sameValue(checkOptionValue(key, value), this.values[key])) waiting.push(key);
      }
      this.setMany(update);
      this.waiting = waiting;
    } catch (error) {
      if (error instanceof UsageError) throw new ConfigFileError(file, error.message, { cause: error });
      if (error instanceof BadOptionValue)
        throw new ConfigFileError(file, `config file ${file}: ${error.message}`);
      throw error;
    }
    return waiting;
  }

  /** What the last reload of the config file left for a restart (reloadFrom's answer). */
  waitingForRestart(): string[] {
    return [...this.waiting];
  }

  number(key: LiveOption): number {
    return Number(this.values[key]);
  }

  get logLevel(): LogLevel {
    return this.values["log-level"] as LogLevel;
  }

  /** What the session threads enforce, as a Settings message carries it. */
  threadLimits(): LiveLimits {
    return {
      maxLine: this.number("max-line"),
      loginTimeoutSeconds: this.number("login-timeout"),
      maxPerAddress: this.number("max-per-address"),
      floodBurst: this.number("flood-burst"),
      floodRate: this.number("flood-rate"),
      floodQueue: this.number("flood-queue"),
      outputLimit: this.number("output-limit"),
      logLevel: this.logLevel,
    };
  }
}
