import net from "node:net";
import { waitFor } from "../helpers/daemon.ts";

/** One proxied connection: the daemon's side, Redis's side, and the requests held back. */
interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  held: Buffer[];
  /** Bytes Redis sent on this connection. */
  answered: number;
  /** Nothing is forwarded on this connection any more, either way, and it stays open (blackHoleOpen()). */
  blackHoled: boolean;
}

/**
 * A TCP proxy in front of Redis. "pass" forwards both ways; "lose-answers" forwards the requests
 * and drops what Redis answers (a command runs, its answer is lost); "hold-requests" keeps the
 * requests back (a command is sent but has not reached Redis); "frozen" forwards nothing either way
 * and closes nothing (a frozen middlebox, a pulled cable). blackHoleOpen() does that to the
 * connections open now only (a middlebox that forgot them): new ones are forwarded. Given a
 * delay, it forwards every chunk that much later each way. cutDaemonSide() closes the daemon's
 * side of every connection (the daemon sees its connections drop and reconnects) and keeps Redis's
 * side open, so held requests can still reach Redis late (release()).
 */
export class CuttingProxy {
  port = 0;
  /** Connections accepted (and forwarded) so far. */
  accepted = 0;
  mode: "pass" | "lose-answers" | "hold-requests" | "frozen" = "pass";
  /** New connections are closed at once (Redis looks down to the daemon). */
  refusing = false;
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private readonly cut: Pair[] = [];
  private trigger: { text: string; mode: CuttingProxy["mode"]; seen: () => void } | null = null;

  /** opts.delayMs: every chunk forwarded that much later, each way, in order (a LAN, another zone). */
  constructor(target: number, opts: { delayMs?: number } = {}) {
    const delayMs = opts.delayMs ?? 0;
    const forward = (to: net.Socket, chunk: Buffer) => {
      if (delayMs === 0) to.write(chunk);
      else setTimeout(() => to.destroyed || to.write(chunk), delayMs);
    };
    this.server = net.createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      this.accepted++;
      const upstream = net.connect(target, "127.0.0.1");
      const pair: Pair = { client, upstream, held: [], answered: 0, blackHoled: false };
      this.pairs.add(pair);
      client.on("error", () => {});
      upstream.on("error", () => {});
      client.on("data", (chunk: Buffer) => {
        const trigger = this.trigger;
        if (trigger && chunk.includes(trigger.text)) {
          this.trigger = null;
          this.mode = trigger.mode;
          trigger.seen();
        }
        if (pair.blackHoled || this.mode === "frozen") return;
        if (this.mode === "hold-requests") pair.held.push(chunk);
        else forward(upstream, chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        pair.answered += chunk.length;
        if (this.mode === "pass" && !pair.blackHoled && !client.destroyed) forward(client, chunk);
      });
      client.on("close", () => {
        this.pairs.delete(pair);
        if (!this.cut.includes(pair)) upstream.destroy();
      });
      upstream.on("close", () => client.destroy());
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /**
   * Switches to mode as the first request that carries text arrives (that request already under
   * it); resolves then.
   */
  when(text: string, mode: CuttingProxy["mode"]): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.trigger = { text, mode, seen: resolve };
    return promise;
  }

  /** Whether some held request carries text. */
  holds(text: string): boolean {
    return [...this.pairs, ...this.cut].some((pair) => Buffer.concat(pair.held).includes(text));
  }

  /** The connections open now forward nothing more, either way, and stay open; new ones are forwarded. */
  blackHoleOpen(): void {
    for (const pair of this.pairs) pair.blackHoled = true;
  }

  /** Redis goes away for the daemon: every connection closed, new ones refused until `refusing` is false again. */
  cutAll(): void {
    this.refusing = true;
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  /** Closes the daemon's side of every connection; Redis's side of those holding requests stays open until release(). */
  cutDaemonSide(): void {
    for (const pair of [...this.pairs]) {
      if (pair.held.length > 0) this.cut.push(pair);
      else pair.upstream.destroy();
      pair.client.destroy();
    }
  }

  /**
   * The held requests of the cut connections reach Redis now, late; resolves once Redis has
   * answered on each of them (or after 5 s), then closes them.
   */
  async release(): Promise<void> {
    const pairs = this.cut.splice(0).filter((pair) => pair.held.length > 0);
    const before = pairs.map((pair) => pair.answered);
    for (const pair of pairs) pair.upstream.write(Buffer.concat(pair.held.splice(0)));
    await waitFor(
      () => pairs.every((pair, i) => pair.answered > before[i]! || pair.upstream.destroyed),
      5000,
      "Redis answering the late requests",
    ).catch(() => {});
    for (const pair of pairs) pair.upstream.destroy();
  }

  close(): void {
    this.server.close();
    for (const pair of [...this.pairs, ...this.cut]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }
}
