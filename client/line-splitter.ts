import { TelnetFilter } from "../protocol/telnet.ts";

/**
 * Turns the bytes a server sends into complete lines (ending LF or CR LF) and the text
 * after the last line end. The chat server ends its prompts with ": " and no line end,
 * so that trailing text is reported as the pending prompt. For the chat server, telnet
 * commands are left out (the IAC WILL ECHO before a password prompt: tschat hides the
 * typing itself and does not answer it).
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder();
  /** null for the echo service, whose bytes are the user's own, 0xFF included. */
  private readonly telnet: TelnetFilter | null;
  private readonly prompts: boolean;
  private rest = "";

  /** prompts: false for the echo service, where a partial line is only ever a split read. */
  constructor(opts: { prompts?: boolean } = {}) {
    this.prompts = opts.prompts ?? true;
    this.telnet = this.prompts ? new TelnetFilter() : null;
  }

  /** Decodes a chunk (a character may be split across chunks); returns the lines it completed. */
  push(chunk: Uint8Array): string[] {
    let text = this.decoder.decode(this.telnet ? this.telnet.push(chunk) : chunk, { stream: true });
    // A prompt is finished once anything follows it: the server only goes on after the answer.
    if (this.prompt !== null && text !== "") this.rest = "";
    text = this.rest + text;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  }

  /** The text after the last line end, if it looks like a prompt, else null. */
  get prompt(): string | null {
    return this.prompts && isPrompt(this.rest) ? this.rest : null;
  }

  /** The unfinished last line when the stream ends, if any (a pending prompt is not a line). */
  end(): string | null {
    const last = this.rest + this.decoder.decode();
    this.rest = "";
    return last === "" || (this.prompts && isPrompt(last)) ? null : last;
  }
}

/**
 * A prompt ends with ": " (`login: `, `login [alice]: `, `new password: `). Every other
 * kind of server line starts with `<`, `[`, `*`, `-` or `!`, so a chat line that happens
 * to be split right after a ": " is not taken for one.
 */
export function isPrompt(text: string): boolean {
  return text.endsWith(": ") && !/^[<[*!-]/.test(text) && !text.includes("\r");
}
