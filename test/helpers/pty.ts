import { type ChildProcess, spawn } from "node:child_process";

/**
 * A program run in a pseudo-terminal by util-linux `script`, so it sees a real terminal:
 * what the test writes is typed, what it reads is the screen's byte stream.
 */
export class Pty {
  readonly proc: ChildProcess;
  private output = "";
  private readonly chunks: Buffer[] = [];
  readonly exited: Promise<number | null>;

  constructor(command: string[], env: NodeJS.ProcessEnv = process.env) {
    const quoted = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    this.proc = spawn("script", ["-qfec", `stty cols 200 rows 50; exec ${quoted}`, "/dev/null"], {
      env: { ...env, TERM: "xterm" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc.stdout!.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.output += d.toString("utf8");
    });
    this.proc.stderr!.on("data", (d: Buffer) => {
      this.output += d.toString("utf8");
    });
    this.exited = new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
  }

  type(text: string): void {
    this.proc.stdin!.write(text);
  }

  /** The screen output so far with ANSI escape sequences removed. */
  get text(): string {
    return stripAnsi(this.output);
  }

  get raw(): string {
    return this.output;
  }

  /** Every byte the terminal was sent (the program's output and the echo of what was typed). */
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async waitFor(match: string | RegExp, timeoutMs = 10_000, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const test = () => {
      const text = this.text.slice(from);
      return typeof match === "string" ? text.includes(match) : match.test(text);
    };
    while (!test()) {
      if (Date.now() > deadline)
        throw new Error(
          `pty: timed out waiting for ${match}; screen: ${JSON.stringify(this.text.slice(-800))}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    this.proc.kill("SIGKILL");
  }
}

export function stripAnsi(text: string): string {
  return text.replace(
    /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>]/g,
    "",
  );
}
