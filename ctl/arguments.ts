import { BadBanTarget, type BanTarget, parseBanTarget } from "../protocol/ban-target.ts";
import { checkName } from "../protocol/names.ts";
import { UsageError } from "./errors.ts";

/**
 * An account's NAME as a command was given it, held to the rule every name keeps (so a name
 * that cannot be an account's is bad usage, exit 2, before anything is sent); the name as typed.
 */
export function nameArgument(value: unknown, command: string): string {
  const typed = String(value ?? "");
  const checked = checkName(typed);
  if (!checked.ok) throw new UsageError(`${command}: "${typed}" is not a valid name (${checked.reason})`);
  return typed;
}

/** A ban's TARGET parsed as the daemon parses it: an address, a CIDR or a name; else bad usage. */
export function banTargetArgument(value: unknown, command: string): BanTarget {
  try {
    return parseBanTarget(String(value ?? ""));
  } catch (error) {
    if (error instanceof BadBanTarget) throw new UsageError(`${command}: ${error.message}`);
    throw error;
  }
}
