import net from "node:net";
import {
  type HubCommand,
  type HubReplies,
  type HubRequestKind,
  type HubRequests,
  type HubToThread,
  hubLineLimit,
  type ThreadToHub,
} from "../../protocol/hub-messages.ts";
import { NdjsonReader } from "../../protocol/ndjson.ts";
import { corkedWriter } from "../shared/corked-writer.ts";
import { HUB_REQUEST_TIMEOUT_MS, HUB_REQUEST_CHECK_MS } from "../shared/limits.ts";

/** The hub answered a request with an error instead of a result. */
export class HubRequestFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HubRequestFailed";
  }
}

/** A request as the caller writes it: its kind and fields; the link adds the seq. */
type RequestOf<K extends HubRequestKind> = { k: K } & Omit<HubRequests[K], "k" | "seq">;

interface Pending {
  sentAt: number;
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  /** Runs synchronously when the reply is read, before any later message on the link. */
  onReply?: (body: unknown) => void;
}

/**
 * HubLink is a thread's connection to the hub in the primary. Writes made in one tick leave
 * in one syscall (cork until the microtask queue drains). The link is all or nothing: a message
 * the reader must refuse, a reply that does not come, or a closed socket all end it (onLost),
 * and the thread then exits so that its process starts a fresh one.
 */
export class HubLink {
  private readonly socket: net.Socket;
  private readonly write: (data: string) => void;
  private seq = 0;
  private lost = false;
  private readonly pending = new Map<number, Pending>();
  private readonly checker: NodeJS.Timeout;
  private readonly onLost: (reason: string) => void;

  constructor(
    path: string,
    maxLine: number,
    onMessage: (message: HubCommand) => void,
    onLost: (reason: string) => void,
  ) {
    this.onLost = onLost;
    const reader = new NdjsonReader(hubLineLimit(maxLine));
    this.socket = net.connect(path);
    this.socket.setNoDelay(true);
    this.write = corkedWriter(this.socket);
    this.socket.on("data", (chunk: Buffer) => {
      const ok = reader.push(chunk, (line) => {
        if (this.lost) return;
        let message: HubToThread;
        try {
          message = JSON.parse(line) as HubToThread;
        } catch {
          return this.lose("unreadable message from the hub");
        }
        if (message.k === "reply") this.settle(message.seq, message.body);
        else if (message.k === "ping") this.send({ k: "pong" });
        else onMessage(message);
      });
      if (!ok) this.lose("message from the hub too large for the link");
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => this.lose("hub link closed"));
    this.checker = setInterval(() => this.checkPending(), HUB_REQUEST_CHECK_MS);
    this.checker.unref();
  }

  send(message: ThreadToHub): void {
    if (this.lost) return;
    this.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Sends a request and resolves with the hub's reply body, the type its kind is answered with;
   * rejects with HubRequestFailed when the hub answers with an error. onReply, if given, runs as
   * the reply is read, in the link's order: what it does happens before any later hub message.
   */
  request<K extends HubRequestKind>(
    message: RequestOf<K>,
    onReply?: (body: HubReplies[K]) => void,
  ): Promise<HubReplies[K]> {
    const seq = ++this.seq;
    return new Promise<HubReplies[K]>((resolve, reject) => {
      if (this.lost) return reject(new HubRequestFailed("no hub link"));
      this.pending.set(seq, {
        sentAt: Date.now(),
        resolve: resolve as (body: unknown) => void,
        reject,
        onReply: onReply as ((body: unknown) => void) | undefined,
      });
      this.send({ ...message, seq } as unknown as ThreadToHub);
    });
  }

  close(): Promise<void> {
    clearInterval(this.checker);
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.end(resolve));
  }

  private settle(seq: number, body: unknown): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    this.pending.delete(seq);
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error === "string") {
      pending.reject(new HubRequestFailed(error));
      return;
    }
    pending.onReply?.(body);
    pending.resolve(body);
  }

  /** Requests are answered in order, so the oldest one tells whether the hub still answers. */
  private checkPending(): void {
    const oldest = this.pending.values().next().value;
    if (oldest && Date.now() - oldest.sentAt > HUB_REQUEST_TIMEOUT_MS)
      this.lose(`no answer from the hub in ${HUB_REQUEST_TIMEOUT_MS / 1000} s`);
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    clearInterval(this.checker);
    this.socket.destroy();
    this.onLost(reason);
  }
}
