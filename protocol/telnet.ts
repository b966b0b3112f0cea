/**
 * Telnet handling for the chat service: strips IAC sequences from the input byte
 * stream and refuses every option the client asks for, so a real telnet client never
 * waits on us while `nc` users see no difference at all.
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
} as const;

const IAC = TELNET.IAC;
const DONT = TELNET.DONT;
const DO = TELNET.DO;
const WONT = TELNET.WONT;
const WILL = TELNET.WILL;
const SB = TELNET.SB;
const SE = TELNET.SE;
const ECHO = TELNET.ECHO;

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
 * TelnetFilter removes telnet commands from a client's byte stream, across chunk
 * boundaries at any byte, and queues the replies that refuse the client's option requests.
 *
 * Our side only ever uses ECHO, and only when the server asks for it (willEcho / wontEcho);
 * the client's answer to that is recognised as an answer and not refused. Each option is
 * refused at most once per direction and WONT/DONT are never answered unless they turn
 * off something that was on, so two peers can never loop.
 */
export class TelnetFilter {
  #state: State = State.Data;
  #verb = 0;
  #sbBytes = 0;
  #negotiated = false;
  #replies: number[] = [];
  /** options we refused after a DO (we sent WONT) */
  #refusedDo = new Uint8Array(256);
  /** options we refused after a WILL (we sent DONT) */
  #refusedWill = new Uint8Array(256);
  /** ECHO on our side: true once the client agreed (DO ECHO) to our WILL ECHO */
  #echo = false;
  /** what we last offered for ECHO (WILL = true, WONT = false) while awaiting the answer; null when none is due */
  #echoPending: boolean | null = null;

  /** negotiated is true once the client has sent any telnet negotiation, so it is a telnet client. */
  get negotiated(): boolean {
    return this.#negotiated;
  }

  /** echoing is true while the client has accepted our WILL ECHO (its local echo is off). */
  get echoing(): boolean {
    return this.#echo;
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
          } else {
            // NOP, GA, AYT, a stray SE, ...: two-byte commands, dropped.
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

  /** takeReplies returns the bytes to send back to the client (refusals), or null when there are none. */
  takeReplies(): Uint8Array | null {
    if (this.#replies.length === 0) return null;
    const r = Uint8Array.from(this.#replies);
    this.#replies.length = 0;
    return r;
  }

  /**
   * willEcho records that we offer ECHO and returns IAC WILL ECHO to send (empty when
   * already on or offered); the client's DO ECHO that follows is then an answer and gets
   * no reply. Send it only to a client that negotiated.
   */
  willEcho(): Uint8Array {
    if (this.#echo || this.#echoPending === true) return EMPTY;
    this.#echoPending = true;
    return telnetWillEcho();
  }

  /**
   * wontEcho returns IAC WONT ECHO to send (empty when echo is already off), giving local
   * echo back to the client; its DONT ECHO answer gets no reply.
   */
  wontEcho(): Uint8Array {
    if (!this.#echo && this.#echoPending !== true) return EMPTY;
    this.#echo = false;
    this.#echoPending = false;
    return telnetWontEcho();
  }

  #option(verb: number, opt: number): void {
    switch (verb) {
      case DO:
        if (opt === ECHO) {
          if (this.#echoPending !== null) {
            // The answer to our WILL ECHO (or a DO answering our WONT, which cannot be refused).
            this.#echo = this.#echoPending;
            this.#echoPending = null;
            return;
          }
          if (this.#echo) return; // already on: no acknowledgement
        }
        if (this.#refusedDo[opt] === 0) {
          this.#refusedDo[opt] = 1;
          this.#replies.push(IAC, WONT, opt);
        }
        return;
      case DONT:
        if (opt === ECHO) {
          if (this.#echoPending !== null) {
            this.#echoPending = null;
            this.#echo = false;
          } else if (this.#echo) {
            // The client turns off what was on: RFC 854 wants the WONT acknowledgement.
            this.#echo = false;
            this.#replies.push(IAC, WONT, ECHO);
          }
        }
        return;
      case WILL:
        if (this.#refusedWill[opt] === 0) {
          this.#refusedWill[opt] = 1;
          this.#replies.push(IAC, DONT, opt);
        }
        return;
      default:
        // WONT: we never enable a client option, so there is nothing to turn off or answer.
        return;
    }
  }
}
