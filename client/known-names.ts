/**
 * The names tschat has seen on the wire, for tab completion and for showing who is away: the
 * online list (`* N online: a, b (away)`, at sign-in and from /who), joins and leaves, and the
 * authors of chat and private lines. The server decides everything (ignores included); this is
 * only what the client has been told.
 */
export class KnownNames {
  readonly #online = new Map<string, string>();
  readonly #away = new Set<string>();

  /** Learns from one server line. */
  see(line: string): void {
    let m = /^\* \d+ online: (.*)$/.exec(line);
    if (m) {
      this.#online.clear();
      this.#away.clear();
      for (const entry of m[1]!.split(", ")) {
        const away = entry.endsWith(" (away)");
        const name = away ? entry.slice(0, -" (away)".length) : entry;
        if (name === "") continue;
        this.#add(name);
        if (away) this.#away.add(fold(name));
      }
      return;
    }
    m = /^\* (\S+) joined$/.exec(line);
    if (m) {
      // A new sign-in is not away.
      this.#add(m[1]!);
      this.#away.delete(fold(m[1]!));
      return;
    }
    m = /^\* (\S+) left( \(.*\))?$/.exec(line);
    if (m) {
      this.#online.delete(fold(m[1]!));
      this.#away.delete(fold(m[1]!));
      return;
    }
    m = /^\* (\S+) is away: /.exec(line);
    if (m) {
      this.#add(m[1]!);
      this.#away.add(fold(m[1]!));
      return;
    }
    m = /^(?:\[[^\]]*\] )?<([^>\s]+)> |^(?:-> )?\*([^*\s]+)\* /.exec(line);
    if (m) this.#add(m[1] ?? m[2]!);
  }

  isAway(name: string): boolean {
    return this.#away.has(fold(name));
  }

  /** The names known, in the order the server sorts them (case-folded). */
  names(): string[] {
    return [...this.#online.values()].sort((a, b) => (fold(a) < fold(b) ? -1 : fold(a) > fold(b) ? 1 : 0));
  }

  /**
   * readline's completer: after `/msg `, `/ignore `, `/unignore ` and `/whois ` the name being typed
   * (the first word), after `/r ` and `/reply ` any word; the known names that start with it,
   * without regard to case.
   */
  complete(line: string): [string[], string] {
    const m = /^\/(msg|ignore|unignore|whois|r|reply) (.*)$/i.exec(line);
    if (!m) return [[], line];
    const rest = m[2]!;
    const nameFirst = !/^(r|reply)$/i.test(m[1]!);
    if (nameFirst && /\s/.test(rest)) return [[], line];
    const word = /\S*$/.exec(rest)![0];
    const prefix = fold(word);
    const hits = this.names().filter((name) => fold(name).startsWith(prefix));
    // One hit: finish it and add the space the next word needs (after /msg's name).
    if (hits.length === 1 && nameFirst && m[1]!.toLowerCase() === "msg") return [[`${hits[0]} `], word];
    return [hits, word];
  }

  #add(name: string): void {
    this.#online.set(fold(name), name);
  }
}

function fold(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}
