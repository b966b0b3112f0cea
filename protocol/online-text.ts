/**
 * OnlineText keeps the text of the online line (`onlineLine` of chat-lines.ts: /who's entries,
 * `name` or `name (away)`, joined by ", ") up to date as users come, go and go away, so that a
 * sign-in's line is a copy of one string instead of 10,000 names mapped and joined: in a
 * sign-in storm at 10,000 online that building was the hub's biggest cost. Each change finds
 * its entry with one search of the text: names hold no space or comma, so an entry is told
 * apart by the ", " before it and the ", " or " (away)" after it.
 */
export class OnlineText {
  #text = "";
  #count = 0;

  /** The line as onlineLine(names, away, true) writes it. */
  get line(): string {
    return `* ${this.#count} online: ${this.#text}\r\n`;
  }

  /** Adds name (away or not) just before the entry of `before`, or at the end when it is null. */
  insert(name: string, away: boolean, before: string | null): void {
    const entry = away ? `${name}${AWAY}` : name;
    if (this.#count === 0) this.#text = entry;
    else if (before === null) this.#text = `${this.#text}${SEPARATOR}${entry}`;
    else {
      const at = this.#find(before).start;
      this.#text = `${this.#text.slice(0, at)}${entry}${SEPARATOR}${this.#text.slice(at)}`;
    }
    this.#count++;
  }

  /** Takes name's entry out. */
  remove(name: string): void {
    const { start, end } = this.#find(name);
    if (this.#count === 1) this.#text = "";
    else if (start === 0) this.#text = this.#text.slice(end + SEPARATOR.length);
    else this.#text = `${this.#text.slice(0, start - SEPARATOR.length)}${this.#text.slice(end)}`;
    this.#count--;
  }

  /** Marks name's entry away, or not. */
  setAway(name: string, away: boolean): void {
    const { start, end } = this.#find(name);
    this.#text = `${this.#text.slice(0, start)}${name}${away ? AWAY : ""}${this.#text.slice(end)}`;
  }

  /** Where name's entry is: start of the name, end of the entry (after " (away)" if it has one). */
  #find(name: string): { start: number; end: number } {
    const text = this.#text;
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
      if (at !== 0 && !text.startsWith(SEPARATOR, at - SEPARATOR.length)) continue;
      const after = at + name.length;
      if (after === text.length || text.startsWith(SEPARATOR, after)) return { start: at, end: after };
      if (
        text.startsWith(AWAY, after) &&
        (after + AWAY.length === text.length || text.startsWith(SEPARATOR, after + AWAY.length))
      )
        return { start: at, end: after + AWAY.length };
    }
    throw new OnlineTextMismatch(name);
  }
}

const SEPARATOR = ", ";
const AWAY = " (away)";

/** A change named an entry the text does not hold: the text and the roster disagree (a bug). */
export class OnlineTextMismatch extends Error {
  constructor(name: string) {
    super(`the online text has no entry for ${JSON.stringify(name)}`);
    this.name = "OnlineTextMismatch";
  }
}
