/**
 * The network an address belongs to, so limits can count per network and not only per
 * address: one host rarely has one address, but its /24 (IPv4) or its delegated prefix
 * (IPv6) is what it can change only at a cost. Pure: no node:net.
 */

/** The 4 bytes of a dotted-quad IPv4 address, or null. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** The 16 bytes of an IPv6 address (compressed, with a zone, or ending in dotted IPv4), or null. */
export function parseIPv6(text: string): number[] | null {
  const zone = text.indexOf("%");
  const bare = zone === -1 ? text : text.slice(0, zone);
  const halves = bare.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIPv4(part);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(Number.parseInt(part, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The first `bits` bits of bytes, the rest zeroed. */
function mask(bytes: readonly number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

export interface PrefixLengths {
  v4: number;
  v6: number;
}

/**
 * networkOf names the network of `address` in CIDR form: "192.0.2.0/24", "2001:db8:0:100::/56"
 * (IPv6 printed as eight groups without compression). An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7, what a dual-stack listener reports) counts as the IPv4 address it maps.
 * Anything that is not an IP address is its own network.
 */
export function networkOf(address: string, bits: PrefixLengths): string {
  const v4 = parseIPv4(address);
  if (v4) return `${mask(v4, bits.v4).join(".")}/${bits.v4}`;
  const v6 = parseIPv6(address);
  if (!v6) return address;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  if (mapped) return `${mask(v6.slice(12), bits.v4).join(".")}/${bits.v4}`;
  const masked = mask(v6, bits.v6);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((masked[i]! << 8) | masked[i + 1]!).toString(16));
  return `${groups.join(":")}/${bits.v6}`;
}
