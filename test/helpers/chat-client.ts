import net from "node:net";
import { TelnetFilter } from "../../protocol/telnet.ts";

/**
 * ChatClient speaks to the chat service the way a person with nc does: raw bytes in, CR LF
 * lines and prompts out. Reads consume the received text in order, so a test asserts the
 * exact sequence the server sent. The text leaves out telnet commands (the IAC WILL ECHO a raw
 * client sees before a password prompt), which it never answers; bytes has them.
 */
export class ChatClient {
  readonly socket: net.Socket;
  private text = "";
  private readonly raw: Buffer[] = [];
  private readonly decoder = new TextDecoder();
  private readonly telnet = new TelnetFilter();
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.raw.push(chunk);
      this.text += this.decoder.decode(this.telnet.push(chunk), { stream: true });
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects to 127.0.0.1 (or host), from localAddress when given (127.0.0.2 is another client address). */
  static connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: opts.host ?? "127.0.0.1", localAddress: opts.localAddress });
      socket.once("connect", () => resolve(new ChatClient(socket)));
      socket.once("error", reject);
    });
  }

  /** A client over a socket already connected, such as a TLS one from tls.connect. */
  static over(socket: net.Socket): ChatClient {
    return new ChatClient(socket);
  }

  /** Everything received and not yet consumed. */
  get unread(): string {
    return this.text.slice(this.cursor);
  }

  /** Everything received so far. */
  get all(): string {
    return this.text;
  }

  /** Every byte received so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Consumes up to and including the next complete line that matches; resolves with it (without CR LF). */
  async line(match: string | RegExp, timeoutMs = 15_000): Promise<string> {
    return this.until(timeoutMs, `a line matching ${match}`, () => {
      let at = this.cursor;
      for (;;) {
        const end = this.text.indexOf("\r\n", at);
        if (end === -1) return null;
        const line = this.text.slice(at, end);
        at = end + 2;
        if (typeof match === "string" ? line === match : match.test(line)) {
          this.cursor = at;
          return line;
        }
      }
    });
  }

  /**
   * Consumes up to the notice that name joined (or left): `* NAME joined` one by one, or a storm's
   * combined line that names them (`* 14 joined: alice, NAME, ...`; more than 10 within a second).
   */
  async announced(name: string, verb: "joined" | "left", timeoutMs = 15_000): Promise<string> {
    const n = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const alone = `${n} ${verb}( \\(.*\\))?`;
    const combined = `\\d+ ${verb}: (.*, )?${n}(, .*| and \\d+ more)?`;
    return this.line(new RegExp(`^\\* (${alone}|${combined})$`), timeoutMs);
  }

  /** Consumes the next complete line, whatever it is. */
  async next(timeoutMs = 15_000): Promise<string> {
    return this.line(/[\s\S]*/, timeoutMs);
  }

  /** Consumes up to and including the next occurrence of a prompt such as "login: ". */
  async prompt(text: string, timeoutMs = 15_000): Promise<void> {
    await this.until(timeoutMs, `the prompt ${JSON.stringify(text)}`, () => {
      const at = this.text.indexOf(text, this.cursor);
      if (at === -1) return null;
      this.cursor = at + text.length;
      return true;
    });
  }

  /** Resolves when the server has closed the connection. */
  async closedByServer(timeoutMs = 15_000): Promise<void> {
    await this.until(timeoutMs, "the server to close the connection", () => (this.closed ? true : null));
  }

  /** Consumes a login prompt, `login: ` or `login [name]: `; resolves with the name offered, if any. */
  async loginPrompt(timeoutMs = 15_000): Promise<string | undefined> {
    return this.until(timeoutMs, "a login prompt", () => {
      const match = /login(?: \[([^\]]*)\])?: /.exec(this.text.slice(this.cursor));
      if (!match) return null;
      this.cursor += match.index + match[0].length;
      return match[1] ?? "";
    }).then((name) => name || undefined);
  }

  /** Registers a new account; resolves with the "* N online" line. */
  async register(name: string, password: string, timeoutMs = 15_000): Promise<string> {
    await this.typeRegistration(name, password, timeoutMs);
    return this.line(/^\* \d+ online: /, timeoutMs);
  }

  /** Goes through the registration dialogue up to the repeated password; what the server answers is the caller's to check. */
  async typeRegistration(name: string, password: string, timeoutMs = 15_000): Promise<void> {
    await this.loginPrompt(timeoutMs);
    this.send(name);
    await this.prompt("new password: ", timeoutMs);
    this.send(password);
    await this.prompt("repeat password: ", timeoutMs);
    this.send(password);
  }

  /** Signs in to an existing account; resolves with the "* N online" line. */
  async signIn(name: string, password: string): Promise<string> {
    await this.loginPrompt();
    this.send(name);
    await this.prompt("password: ");
    this.send(password);
    return this.line(/^\* \d+ online: /);
  }

  close(): void {
    this.socket.destroy();
  }

  private async until<T>(timeoutMs: number, what: string, check: () => T | null): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== null) return value;
      if (this.closed && !what.includes("close"))
        throw new Error(
          `connection closed while waiting for ${what}; unread: ${JSON.stringify(this.unread)}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; unread: ${JSON.stringify(this.unread.slice(0, 500))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
