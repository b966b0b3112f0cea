import type net from "node:net";
import { SHUTTING_DOWN } from "../protocol/chat-lines.ts";
import type { Deliver, Direct, Drop } from "../protocol/hub-messages.ts";
import { ChatSession, type SessionHost } from "./chat-session.ts";
import type { Service } from "./service.ts";

/**
 * ChatService hosts a thread's chat sessions and carries out what the hub sends: one
 * deliver per message for the whole thread, turned into bytes once and written to every
 * signed-in session here.
 */
export class ChatService implements Service {
  readonly name = "chat" as const;
  private readonly open = new Map<string, ChatSession>();
  private readonly signedIn = new Map<string, ChatSession>();
  private readonly host: Omit<SessionHost, "signedIn" | "ended">;
  private readonly sidPrefix: string;
  private readonly changed: () => void;
  private nextId = 0;
  private readonly corked = new Set<ChatSession>();

  constructor(host: Omit<SessionHost, "signedIn" | "ended">, sidPrefix: string, changed: () => void) {
    this.host = host;
    this.sidPrefix = sidPrefix;
    this.changed = changed;
  }

  get sessions(): number {
    return this.open.size;
  }

  accept(socket: net.Socket): void {
    const sid = `${this.sidPrefix}.${++this.nextId}`;
    const session = new ChatSession(sid, socket, {
      ...this.host,
      signedIn: (s) => this.signedIn.set(s.sid, s),
      ended: (s) => {
        this.open.delete(s.sid);
        this.signedIn.delete(s.sid);
        this.changed();
      },
    });
    this.open.set(sid, session);
    this.changed();
    this.host.log("info", "connect", { address: session.address });
    void session.start();
  }

  deliver(message: Deliver): void {
    const bytes = Buffer.from(message.line);
    for (const [sid, session] of this.signedIn) {
      if (sid === message.except) continue;
      this.corkForTick(session);
      session.send(bytes);
    }
  }

  /**
   * Holds a session's writes until the event loop has handled every hub message that arrived
   * in this turn (setImmediate runs after the poll phase), so many lines for one client leave
   * in one write (writev) instead of one syscall per line.
   */
  private corkForTick(session: ChatSession): void {
    if (this.corked.has(session)) return;
    session.cork();
    this.corked.add(session);
    if (this.corked.size === 1) {
      setImmediate(() => {
        for (const s of this.corked) s.uncork();
        this.corked.clear();
      });
    }
  }

  direct(message: Direct): void {
    this.signedIn.get(message.sid)?.send(message.line);
  }

  drop(message: Drop): void {
    this.open.get(message.sid)?.close(message.reason, message.line);
  }

  async shutdown(graceMs: number): Promise<void> {
    for (const session of this.open.values()) session.close("server shutting down", SHUTTING_DOWN);
    const deadline = Date.now() + graceMs;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
