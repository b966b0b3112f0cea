import type net from "node:net";
import tls from "node:tls";
import type { TlsMaterial } from "../../protocol/hub-messages.ts";
import { secureContextOptions } from "../shared/tls-context.ts";
import type { ChatService } from "./chat/chat-service.ts";
import type { Service, ThreadLog } from "./service.ts";

/** A client that connects and does not finish its handshake within this is cut off (at most the login timeout). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * TlsChatService is the chat service over TLS in a session thread. The thread's own listener
 * accepts the TCP connection and applies the descriptor budget and the per-address cap, as for
 * plain chat; this wraps it in a server-side TLS socket, bounds the handshake in time, and hands
 * the decrypted socket to the same ChatService as a plain one: sign-in, chat and fan-out are the
 * very same code. A renewed certificate (renew) is used from the next handshake on; the sessions
 * already open keep theirs.
 */
export class TlsChatService implements Service {
  readonly name = "chat-tls" as const;
  private readonly chat: ChatService;
  private readonly log: ThreadLog;
  private readonly changed: () => void;
  /** Read at each accept: it follows the login timeout, which config.set may change. */
  private readonly handshakeTimeoutMs: () => number;
  private context: tls.SecureContext | null = null;
  /** Every TLS connection of this thread, from its accept to its close (handshaking or chatting). */
  private readonly connections = new Set<net.Socket>();
  private secured = 0;

  constructor(chat: ChatService, log: ThreadLog, changed: () => void, handshakeTimeoutMs: () => number) {
    this.chat = chat;
    this.log = log;
    this.changed = changed;
    this.handshakeTimeoutMs = handshakeTimeoutMs;
  }

  /** TLS connections open: those still in their handshake and those chatting. */
  get sessions(): number {
    return this.connections.size;
  }

  /** TLS connections still in their handshake (the others are among the chat service's sessions). */
  get handshaking(): number {
    return this.connections.size - this.secured;
  }

  /** The chat sessions of this thread that run over TLS. */
  get chatting(): number {
    return this.secured;
  }

  /** Serves this certificate and key from the next handshake on (the primary has checked them). */
  renew(material: TlsMaterial): void {
    this.context = tls.createSecureContext(secureContextOptions(material));
  }

  accept(socket: net.Socket): void {
    if (!this.context) {
      // The primary sends the certificate before the thread listens; this cannot serve without one.
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    this.changed();
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.context });
    const timer = setTimeout(() => {
      this.failed(socket, "handshake timeout");
      secure.destroy();
    }, this.handshakeTimeoutMs());
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      this.failed(socket, error.code ?? error.message);
      secure.destroy();
    };
    secure.once("error", onError);
    secure.once("secure", () => {
      clearTimeout(timer);
      secure.off("error", onError);
      this.secured++;
      secure.once("close", () => {
        this.secured--;
      });
      this.chat.accept(secure);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      this.connections.delete(socket);
      this.changed();
    });
  }

  private failed(socket: net.Socket, reason: string): void {
    this.log("info", "TLS handshake failed", { address: socket.remoteAddress ?? "unknown", error: reason });
  }

  /**
   * The chatting connections are the chat service's to say goodbye to and close; one still in
   * its handshake cannot be told anything and ends with the thread.
   */
  async shutdown(_graceMs: number): Promise<void> {}
}
