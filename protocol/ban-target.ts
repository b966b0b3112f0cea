/**
 * What a ban names, and how a connecting address is held against the bans. A target is one
 * address, a network in CIDR form (IPv4 or IPv6) or a user's name; it is kept in one canonical
 * form, so `ban 10.1.2.3/8` and `unban 10.0.0.0/8` are the same ban and `::FFFF:127.0.0.2` is
 * `127.0.0.2`. Pure: no node:net, so the primary and the session threads share it.
 */
import { parseIPv4, parseIPv6 } from "./address-prefix.ts";
import { checkName } from "./names.ts";

/** A ban's target, parsed: an address or a network (bits < the family's width), or a name (by its key). */
export type BanTarget =
  | { kind: "address"; target: string; family: 4 | 6; bytes: readonly number[]; bits: number }
  | { kind: "name"; target: string; key: string };

/** The operator's target is neither an address, a CIDR nor a valid name; the message says which it looked like. */
export class BadBanTarget extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadBanTarget";
  }
}

/** Text made only of digits and dots, or holding a `:` or a `/`, is meant as an address or a network. */
const LOOKS_LIKE_ADDRESS = /^[\d.]+(?:\/.*)?$|[:/]/;

/**
 * NAME_PREFIX marks a target as a name whatever it looks like: a name may be all digits and dots
 * (`42`, `1.2.3.4`), which bare would be read as an address. No name holds a `:`, so it is
 * never ambiguous.
 */
export const NAME_PREFIX = "name:";

/**
 * parseBanTarget reads an operator's target. `name:NAME` is a name; anything else that looks like
 * an address must be a valid one (a typo such as `300.1.2.3` is refused, never taken for a name);
 * anything else must be a valid name. A name that looks like an address keeps its `name:` in the
 * canonical target, so the target bans.list shows lifts the ban. Throws BadBanTarget with a
 * sentence for the operator.
 */
export function parseBanTarget(text: string): BanTarget {
  const raw = text.trim();
  if (raw === "") throw new BadBanTarget("target is empty: give an address, a CIDR or a name");
  const named = raw.startsWith(NAME_PREFIX);
  if (!named && LOOKS_LIKE_ADDRESS.test(raw)) return parseNetwork(raw);
  const checked = checkName(named ? raw.slice(NAME_PREFIX.length) : raw);
  if (!checked.ok)
    throw new BadBanTarget(
      named
        ? `${raw}: not a valid name (${checked.reason})`
        : `${raw} is not an address, a CIDR or a valid name (${checked.reason})`,
    );
  const target = LOOKS_LIKE_ADDRESS.test(checked.name) ? `${NAME_PREFIX}${checked.name}` : checked.name;
  return { kind: "name", target, key: checked.key };
}

function parseNetwork(raw: string): BanTarget {
  const slash = raw.indexOf("/");
  const addressText = slash === -1 ? raw : raw.slice(0, slash);
  const bitsText = slash === -1 ? null : raw.slice(slash + 1);
  if (addressText.includes("%"))
    throw new BadBanTarget(`${raw}: an address with a zone (%) cannot be banned`);
  let family: 4 | 6;
  let bytes = parseIPv4(addressText);
  if (bytes) family = 4;
  else {
    bytes = parseIPv6(addressText);
    if (!bytes)
      throw new BadBanTarget(
        `${raw} is not a valid IPv4 or IPv6 address or CIDR (a name that looks like one is written ${NAME_PREFIX}${raw})`,
      );
    family = 6;
  }
  const width = family === 4 ? 32 : 128;
  let bits = width;
  if (bitsText !== null) {
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > width)
      throw new BadBanTarget(`${raw}: the prefix length must be 0 to ${width}`);
    bits = Number(bitsText);
  }
  // An IPv4-mapped IPv6 address or network (what a dual-stack listener reports) is the IPv4 one.
  if (family === 6 && isMapped(bytes) && bits >= 96) {
    bytes = bytes.slice(12);
    bits -= 96;
    family = 4;
  }
  const masked = maskBytes(bytes, bits);
  const shown = family === 4 ? masked.join(".") : formatIPv6(masked);
  const target = bits === (family === 4 ? 32 : 128) ? shown : `${shown}/${bits}`;
  return { kind: "address", target, family, bytes: masked, bits };
}

function isMapped(bytes: readonly number[]): boolean {
  return bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The first `bits` bits of bytes, the rest zeroed. */
function maskBytes(bytes: readonly number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** An IPv6 address as RFC 5952 writes it: lower case, the longest run of two or more zero groups as `::`. */
export function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt === -1) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLength).join(":")}`;
}

/** A client address as bytes of its family; an IPv4-mapped IPv6 address is its IPv4 address. Null: not an IP address. */
function clientBytes(address: string): { family: 4 | 6; bytes: number[] } | null {
  const v4 = parseIPv4(address);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(address);
  if (!v6) return null;
  return isMapped(v6) ? { family: 4, bytes: v6.slice(12) } : { family: 6, bytes: v6 };
}

/** An address ban as the hub sends it to the session threads: `until` in ms since the epoch, null when permanent. */
export interface AddressBanRule {
  target: string;
  reason: string | null;
  until: number | null;
}

/**
 * AddressBanList answers "is this address banned, and why" in a few map look-ups however many
 * bans there are: the rules are grouped by family and prefix length, and the address is masked
 * once per prefix length in use (at most 33 + 129), longest first, so the most specific ban wins.
 * A rule past its `until` no longer matches, even before the hub sends the list without it.
 */
export class AddressBanList {
  readonly size: number;
  readonly #byFamily = new Map<4 | 6, Map<number, Map<string, AddressBanRule>>>();

  constructor(rules: readonly AddressBanRule[]) {
    let size = 0;
    for (const rule of rules) {
      let parsed: BanTarget;
      try {
        parsed = parseBanTarget(rule.target);
      } catch {
        continue;
      }
      if (parsed.kind !== "address") continue;
      let byBits = this.#byFamily.get(parsed.family);
      if (!byBits) {
        byBits = new Map();
        this.#byFamily.set(parsed.family, byBits);
      }
      let byNetwork = byBits.get(parsed.bits);
      if (!byNetwork) {
        byNetwork = new Map();
        byBits.set(parsed.bits, byNetwork);
      }
      byNetwork.set(parsed.bytes.join("."), rule);
      size++;
    }
    for (const [family, byBits] of this.#byFamily)
      this.#byFamily.set(family, new Map([...byBits].sort((a, b) => b[0] - a[0])));
    this.size = size;
  }

  /** The ban that holds address at now, the most specific first; null when none does. */
  match(address: string, now: number): AddressBanRule | null {
    if (this.size === 0) return null;
    const client = clientBytes(address);
    if (!client) return null;
    const byBits = this.#byFamily.get(client.family);
    if (!byBits) return null;
    for (const [bits, byNetwork] of byBits) {
      const rule = byNetwork.get(maskBytes(client.bytes, bits).join("."));
      if (rule && (rule.until === null || rule.until > now)) return rule;
    }
    return null;
  }
}
