/**
 * Telnet handling for the chat service: strips IAC sequences from the input byte
 * stream, refuses every option the client asks for but two, so a real telnet client never
 * waits on us: ECHO, offered at password prompts so that the client stops echoing what is
 * typed, and SUPPRESS-GO-AHEAD, agreed to when asked (telnet's `mode character`). IAC EC and IAC EL
 * (telnet's `send ec`, `send el`) edit the line being typed, as DEL and Ctrl-U do.
 *
 * Pure byte-level state machine: bytes in, data bytes and reply bytes out, no I/O.
 */

/** TELNET byte values (RFC 854, RFC 857). */
export const TELNET = {
  IAC: 255,
  DONT: 254,
  DO: 253,
  WONT: 252,
  WILL: 251,
  SB: 250,
  SE: 240,
  ECHO: 1,
  /** SUPPRESS-GO-AHEAD (RFC 858): the server never sends GA, so it agrees when asked */
  SGA: 3,
  /** TIMING-MARK (RFC 860): a DO asks for an answer every time, not an option to refuse once */
  TM: 6,
  /** Erase Character and Erase Line (RFC 854): telnet's own erase keys, as `send ec` / `send el` send them */
  EC: 247,
  EL: 248,
  /** Are You There (RFC 854, telnet's `send ayt`): the user is owed some visible sign of life */
  AYT: 246,
} as const;

const IAC = TELNET.IAC;
const DONT = TELNET.DONT;
const DO = TELNET.DO;
const WONT = TELNET.WONT;
const WILL = TELNET.WILL;
const SB = TELNET.SB;
const SE = TELNET.SE;
const ECHO = TELNET.ECHO;
const SGA = TELNET.SGA;
const TM = TELNET.TM;
/** In the data, IAC EC and IAC EL become the erase keys the line framer applies: DEL and Ctrl-U. */
const EC = TELNET.EC;
const EL = TELNET.EL;
const DEL = 0x7f;
const CTRL_U = 0x15;
const AYT = TELNET.AYT;

/** MAX_SB_BYTES bounds subnegotiation content; past it the SB is abandoned and bytes are data again. */
export const MAX_SB_BYTES = 4096;

const State = {
  Data: 0,
  /** after IAC */
  Iac: 1,
  /** after IAC WILL/WONT/DO/DONT, waiting for the option byte */
  Option: 2,
  /** inside IAC SB ..., content being dropped */
  Sb: 3,
  /** IAC seen inside SB */
  SbIac: 4,
} as const;
type State = (typeof State)[keyof typeof State];

/** telnetWillEcho returns IAC WILL ECHO: "I will echo", which makes a client stop echoing locally (password hiding). */
export function telnetWillEcho(): Uint8Array {
  return Uint8Array.of(IAC, WILL, ECHO);
}

/** telnetWontEcho returns IAC WONT ECHO, which gives local echo back to the client. */
export function telnetWontEcho(): Uint8Array {
  return Uint8Array.of(IAC, WONT, ECHO);
}

const EMPTY = new Uint8Array(0);

/**
 * The tables of options refused, one byte per option, are made on the first refusal: most
 * connections never negotiate, and 10,000 idle sessions would hold 5 MB of zeros.
 */
function refused(table: Uint8Array | null, opt: number): boolean {
  return table !== null && table[opt] !== 0;
}

function markRefused(table: Uint8Array | null, opt: number): Uint8Array {
  const t = table ?? new Uint8Array(256);
  t[opt] = 1;
  return t;
}

/**
 * Where our side's ECHO option stands: on, off, or offered and not answered yet. RFC 1143's
 * state, with one difference: a WONT is taken as done when sent, and the DONT that should
 * acknowledge it is expected but not waited for, since tintin++ never sends it (telnet does).
 */
const Echo = {
  Off: 0,
  On: 1,
  /** we sent WILL, the DO (or DONT) has not come */
  WantOn: 2,
} as const;
type Echo = (typeof Echo)[keyof typeof Echo];

/**
 * TelnetFilter removes telnet commands from a client's byte stream, across chunk
 * boundaries at any byte, and queues the replies that refuse the client's option requests.
 *
 * Our side only ever uses ECHO, and only when the server asks for it (willEcho / wontEcho, at
 * password prompts); the client's answers to that are negotiated per RFC 857 with RFC 1143's
 * state per direction. SGA is agreed to when the client asks; a DO TIMING-MARK is answered (WONT)
 * each time it comes, since telnet waits for that answer. Every other option is refused at most
 * once per direction and WONT/DONT are never answered unless they turn off something that was on,
 * so two peers can never loop.
 */
export class TelnetFilter {
  #state: State = State.Data;
  #verb = 0;
  #sbBytes = 0;
  #negotiated = false;
  #replies: number[] = [];
  /** options we refused after a DO (we sent WONT) */
  #refusedDo: Uint8Array | null = null;
  /** options we refused after a WILL (we sent DONT) */
  #refusedWill: Uint8Array | null = null;
  #echo: Echo = Echo.Off;
  /** while our WILL is unanswered, off was wanted: a DO that comes is answered with WONT */
  #echoQueued = false;
  /** we sent WONT: the client's DONT that acknowledges it may still come, and is not a refusal */
  #dontOwed = false;
  /** the client answered our offer with DONT (ncat -t): it is not asked again, which would only print the bytes again */
  #echoRefused = false;
  /** SUPPRESS-GO-AHEAD on our side: telnet's `mode character` asks for it (with SGA, a key is sent as it is typed) */
  #sga = false;
  /** an IAC AYT came and is not answered yet */
  #areYouThere = false;

  /** negotiated is true once the client has sent any telnet negotiation, so it is a telnet client. */
  get negotiated(): boolean {
    return this.#negotiated;
  }

  /** echoing is true while the client has accepted our WILL ECHO (its local echo is off). */
  get echoing(): boolean {
    return this.#echo === Echo.On;
  }

  /**
   * push returns the data bytes of chunk with every telnet sequence removed. Fast path: a
   * chunk without 0xFF in the data state is returned as is, without a copy; otherwise the
   * result is a new array or a part of chunk, never the filter's own state.
   */
  push(chunk: Uint8Array): Uint8Array {
    const n = chunk.length;
    let i = 0;
    if (this.#state === State.Data) {
      const first = chunk.indexOf(IAC);
      if (first === -1) return chunk;
      i = first;
    } else if (this.#state === State.Sb) {
      const first = chunk.indexOf(IAC);
      if (first === -1) {
        this.#sbBytes += n;
        if (this.#sbBytes <= MAX_SB_BYTES) return EMPTY;
        // Abandoned: the bytes past the bound are data again.
        const keep = this.#sbBytes - MAX_SB_BYTES;
        this.#state = State.Data;
        this.#sbBytes = 0;
        return chunk.subarray(n - keep);
      }
    }
    const out = new Uint8Array(n);
    out.set(chunk.subarray(0, i));
    let o = i;
    while (i < n) {
      switch (this.#state) {
        case State.Data: {
          const j = chunk.indexOf(IAC, i);
          const end = j === -1 ? n : j;
          if (end > i) {
            out.set(chunk.subarray(i, end), o);
            o += end - i;
          }
          if (j === -1) {
            i = n;
          } else {
            this.#state = State.Iac;
            i = j + 1;
          }
          break;
        }
        case State.Iac: {
          const b = chunk[i++]!;
          if (b === IAC) {
            out[o++] = IAC;
            this.#state = State.Data;
          } else if (b === WILL || b === WONT || b === DO || b === DONT) {
            this.#verb = b;
            this.#negotiated = true;
            this.#state = State.Option;
          } else if (b === SB) {
            this.#negotiated = true;
            this.#sbBytes = 0;
            this.#state = State.Sb;
          } else if (b === EC || b === EL) {
            // Erase Character / Erase Line: the line being typed is edited, as by DEL / Ctrl-U.
            out[o++] = b === EC ? DEL : CTRL_U;
            this.#state = State.Data;
          } else if (b === AYT) {
            this.#areYouThere = true;
            this.#state = State.Data;
          } else {
            // NOP, GA, IP, AO, a stray SE, ...: two-byte commands, dropped.
            this.#state = State.Data;
          }
          break;
        }
        case State.Option: {
          this.#option(this.#verb, chunk[i++]!);
          this.#state = State.Data;
          break;
        }
        case State.Sb: {
          const j = chunk.indexOf(IAC, i);
          const end = j === -1 ? n : j;
          this.#sbBytes += end - i;
          if (this.#sbBytes > MAX_SB_BYTES) {
            const keepFrom = end - (this.#sbBytes - MAX_SB_BYTES);
            this.#state = State.Data;
            this.#sbBytes = 0;
            i = keepFrom;
          } else if (j === -1) {
            i = n;
          } else {
            this.#state = State.SbIac;
            i = j + 1;
          }
          break;
        }
        case State.SbIac: {
          const b = chunk[i];
          if (b === SE) {
            this.#state = State.Data;
            i++;
          } else if (b === IAC) {
            // escaped 0xFF inside the subnegotiation: content, dropped
            i++;
            if (++this.#sbBytes > MAX_SB_BYTES) {
              this.#state = State.Data;
              this.#sbBytes = 0;
            } else {
              this.#state = State.Sb;
            }
          } else {
            // IAC <command> inside SB: a broken SB; end it and read the command normally.
            this.#state = State.Iac;
          }
          break;
        }
      }
    }
    return out.subarray(0, o);
  }

  /**
   * takeAreYouThere reports whether an IAC AYT came since the last call (any number of them is
   * one answer), for the session to answer in a line the user can see.
   */
  takeAreYouThere(): boolean {
    const asked = this.#areYouThere;
    this.#areYouThere = false;
    return asked;
  }

  /** takeReplies returns the bytes to send back to the client (refusals), or null when there are none. */
  takeReplies(): Uint8Array | null {
    if (this.#replies.length === 0) return null;
    const r = Uint8Array.from(this.#replies);
    this.#replies.length = 0;
    return r;
  }

  /**
   * willEcho asks to turn our ECHO on (a password prompt) and returns IAC WILL ECHO to send
   * now, or nothing: when it is on or already offered, or when the client refused it before
   * (asking again would only print the bytes again). The client's DO that answers it gets no reply.
   */
  willEcho(): Uint8Array {
    switch (this.#echo) {
      case Echo.Off:
        if (this.#echoRefused) return EMPTY;
        this.#echo = Echo.WantOn;
        return telnetWillEcho();
      case Echo.WantOn:
        this.#echoQueued = false;
        return EMPTY;
      default:
        return EMPTY;
    }
  }

  /**
   * wontEcho asks to turn our ECHO off (the password was typed) and returns IAC WONT ECHO to
   * send now, or nothing: when it is off, or while our WILL is unanswered (a raw client that
   * never answers sees no more bytes; a DO that still comes is then answered with the WONT).
   */
  wontEcho(): Uint8Array {
    switch (this.#echo) {
      case Echo.On:
        this.#echo = Echo.Off;
        this.#dontOwed = true;
        return telnetWontEcho();
      case Echo.WantOn:
        this.#echoQueued = true;
        return EMPTY;
      default:
        return EMPTY;
    }
  }

  /** The client's DO ECHO or DONT ECHO for our side of the option. */
  #echoAnswer(on: boolean): void {
    if (!on && this.#dontOwed && this.#echo !== Echo.On) {
      this.#dontOwed = false; // the acknowledgement of our WONT
      return;
    }
    switch (this.#echo) {
      case Echo.Off:
        // Not offered: a DO is refused (once, as every option), a DONT needs nothing.
        if (on && !refused(this.#refusedDo, ECHO)) {
          this.#refusedDo = markRefused(this.#refusedDo, ECHO);
          this.#replies.push(IAC, WONT, ECHO);
        }
        return;
      case Echo.On:
        if (!on) {
          // The client turns off what was on: RFC 854 wants the WONT acknowledgement.
          this.#echo = Echo.Off;
          this.#replies.push(IAC, WONT, ECHO);
        }
        return;
      case Echo.WantOn: {
        const queued = this.#echoQueued;
        this.#echoQueued = false;
        this.#dontOwed = false;
        if (!on) {
          this.#echo = Echo.Off;
          this.#echoRefused = true;
        } else if (!queued) {
          this.#echo = Echo.On;
        } else {
          this.#echo = Echo.Off;
          this.#dontOwed = true;
          this.#replies.push(IAC, WONT, ECHO);
        }
        return;
      }
    }
  }

  #option(verb: number, opt: number): void {
    switch (verb) {
      case DO:
        if (opt === ECHO) {
          this.#echoAnswer(true);
          return;
        }
        if (opt === TM) {
          // telnet sends IAC IP (or SUSP, AO) with DO TIMING-MARK at each Ctrl-C (Ctrl-Z, ...) and
          // throws away all our output until the answer comes: refused each time, never only once.
          this.#replies.push(IAC, WONT, TM);
          return;
        }
        if (opt === SGA) {
          // Agreed (we never send GA anyway); acknowledged only when it changes, so no loop.
          if (!this.#sga) this.#replies.push(IAC, WILL, SGA);
          this.#sga = true;
          return;
        }
        if (!refused(this.#refusedDo, opt)) {
          this.#refusedDo = markRefused(this.#refusedDo, opt);
          this.#replies.push(IAC, WONT, opt);
        }
        return;
      case DONT:
        if (opt === ECHO) this.#echoAnswer(false);
        else if (opt === SGA && this.#sga) {
          this.#sga = false;
          this.#replies.push(IAC, WONT, SGA);
        }
        return;
      case WILL:
        if (!refused(this.#refusedWill, opt)) {
          this.#refusedWill = markRefused(this.#refusedWill, opt);
          this.#replies.push(IAC, DONT, opt);
        }
        return;
      default:
        // WONT: we never enable a client option, so there is nothing to turn off or answer.
        return;
    }
  }
}
