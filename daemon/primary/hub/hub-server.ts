import net from "node:net";
import {
  type ChatNotice,
  type ErrorReply,
  type HubReplies,
  type HubReply,
  type HubRequest,
  type HubRequestKind,
  type HubRequests,
  type HubToThread,
  hubLineLimit,
  type LinkMessage,
  type ListenPorts,
  type LogRecord,
  type ServiceName,
  type ThreadMetrics,
  type ThreadToHub,
} from "../../../protocol/hub-messages.ts";
import { WHO_UNAVAILABLE } from "../../../protocol/chat-lines.ts";
import { NdjsonReader } from "../../../protocol/ndjson.ts";
import { corkedWriter } from "../../shared/corked-writer.ts";
import { BackendFault } from "../backend-fault.ts";
import { type ChatHub, isPending, type Maybe } from "./chat-hub.ts";

let lastMessage: HubToThread | null = null;
let lastEncoded = "";
/** A broadcast sends one message object to every thread: it is serialised once, not once per thread. */
function encode(message: HubToThread): string {
  if (message !== lastMessage) {
    lastMessage = message;
    lastEncoded = `${JSON.stringify(message)}\n`;
  }
  return lastEncoded;
}

/** One session thread as the primary sees it. */
export interface ThreadLink {
  worker: number;
  thread: number;
  /** chat: over plain TCP; tls: chat over TLS (when TLS is on). */
  sessions: { chat: number; echo: number; tls?: number };
  listening: Partial<Record<ServiceName, boolean>>;
  /** When the thread last sent anything (its answers to pings included). */
  lastSeen: number;
  send(message: HubToThread): void;
  /** Cuts the link: the thread counts as gone. */
  close(): void;
}

export interface HubServerOptions {
  /** The daemon's --max-line: it bounds the longest message the link must carry (hubLineLimit). */
  maxLine: number;
  /** How often each thread is pinged. */
  pingIntervalMs: number;
  /** A thread silent for this long is unresponsive: its link is cut and onUnresponsive called. */
  threadTimeoutMs: number;
}

export interface HubEvents {
  onHello(link: ThreadLink): { paused: boolean; ports: ListenPorts | null };
  onListening(link: ThreadLink, service: ServiceName, ok: boolean, port: number, error?: string): void;
  onLog(link: ThreadLink | null, record: LogRecord): void;
  onGone(link: ThreadLink): void;
  /** A thread stopped answering: the primary has its process restart it. */
  onUnresponsive(link: ThreadLink, silentMs: number): void;
  /** A thread's counters and event-loop lag (each interval, and in answer to a metrics request). */
  onMetrics?(link: ThreadLink, report: ThreadMetrics): void;
}

/** A backend fault (the cluster's Redis) met by hub requests is logged at most once this often, per sentence. */
const FAULT_LOG_EVERY_MS = 10_000;

/** How the chat hub answers each kind of request, for the thread that asked. */
const REQUESTS: {
  [K in HubRequestKind]: (chat: ChatHub, peer: ThreadLink, message: HubRequests[K]) => Maybe<HubReplies[K]>;
} = {
  admit: (chat, peer, m) => ({ ok: chat.admit(peer, m.address) }),
  throttle: (chat, _peer, m) => chat.throttle(m.key, m.address, m.lastAddress ?? null),
  registration: (chat, _peer, m) => chat.registration(m.address, m.spend),
  reserve: (chat, peer, m) => {
    // A banned name hears so before its passwords are typed, and no account is made for it.
    const refused = chat.refusal(m.key, null);
    if (refused) return { ok: false, refused };
    const ok = chat.reserve(peer, m.sid, m.key);
    return isPending(ok) ? ok.then((held) => ({ ok: held })) : { ok };
  },
  join: (chat, peer, m) => chat.join(peer, m.sid, m.key, m.name, m.address),
  leave: (chat, peer, m) => {
    const left = chat.leave(peer, m.sid, m.reason);
    return isPending(left) ? left.then(() => ({ ok: true })) : { ok: true };
  },
  msg: (chat, peer, m) => chat.msg(peer, m.sid, m.to, m.text),
  who: (chat) => {
    const names = chat.who();
    const away = chat.awayNames();
    if (!isPending(names) && !isPending(away)) return { names, away };
    return Promise.all([names, away]).then(
      ([n, a]) => ({ names: n, away: a }),
      (error: unknown) => {
        // A cluster whose Redis cannot answer: this daemon's own users are not the cluster's.
        if (error instanceof BackendFault) return { names: [], away: [], refused: WHO_UNAVAILABLE };
        throw error;
      },
    );
  },
  history: (chat, _peer, m) => chat.history(m.n),
  away: (chat, peer, m) => chat.away(peer, m.sid, m.text),
  whois: (chat, _peer, m) => {
    const online = chat.whois(m.key);
    return isPending(online) ? online.then((o) => ({ online: o })) : { online };
  },
  failed: (chat, _peer, m) => {
    const counted = chat.failed(m.key, m.address);
    return isPending(counted) ? counted.then(() => ({ ok: true })) : { ok: true };
  },
  account: (chat, _peer, m) => {
    if (!chat.account) throw new Error("the accounts are not the hub's (no cluster)");
    return chat.account(m.call).then((result) => ({ result }));
  },
};

/** What the chat hub does with each notice; none is answered. */
const NOTICES: {
  [K in ChatNotice["k"]]: (chat: ChatHub, peer: ThreadLink, message: Extract<ChatNotice, { k: K }>) => void;
} = {
  release: (chat, peer, m) => chat.release(peer, m.address),
  say: (chat, peer, m) => chat.say(peer, m.sid, m.text),
  act: (chat, peer, m) => chat.act(peer, m.sid, m.text),
};

/** The tables' handlers as dispatch calls them, once it has looked the message's kind up. */
type LinkHandler = (conn: Connection, message: ThreadToHub) => void;
type ChatHandler<R> = (chat: ChatHub, peer: ThreadLink, message: ThreadToHub) => R;

/** One thread's connection: the link, once the thread has said hello. */
interface Connection {
  link: ThreadLink | null;
  readonly socket: net.Socket;
  send(message: HubToThread): void;
}

/**
 * HubServer is the primary's end of every thread's link: a local socket per thread, so a
 * thread is one hop from the hub and no worker process relays its traffic. Each message is
 * dispatched by its kind: the link's own messages, then (once the thread has said hello) chat
 * notices and requests. A request whose handler throws is answered with an error, so the
 * session that asked is not left waiting.
 */
export class HubServer {
  readonly links = new Set<ThreadLink>();
  private readonly server: net.Server;
  private readonly events: HubEvents;
  private readonly chat: ChatHub;
  private readonly opts: HubServerOptions;
  private readonly maxMessage: number;
  private readonly watchdog: NodeJS.Timeout;
  /** The backend fault last logged for a request, when, and how many alike went unlogged since. */
  private faultLogged = { sentence: "", at: 0, alike: 0 };

  /** The messages about the link itself, accepted before hello too. */
  private readonly linkMessages: {
    [K in LinkMessage["k"]]: (conn: Connection, message: Extract<LinkMessage, { k: K }>) => void;
  } = {
    hello: (conn, m) => this.hello(conn, m.worker, m.thread),
    pong: () => {},
    log: (conn, m) => this.events.onLog(conn.link, m),
    listening: (conn, m) => {
      if (!conn.link) return;
      conn.link.listening[m.service] = m.ok;
      this.events.onListening(conn.link, m.service, m.ok, m.port, m.error);
    },
    metrics: (conn, m) => {
      if (conn.link) this.events.onMetrics?.(conn.link, m);
    },
    stats: (conn, m) => {
      if (!conn.link) return;
      conn.link.sessions.chat = m.chat;
      conn.link.sessions.echo = m.echo;
      if (m.tls !== undefined) conn.link.sessions.tls = m.tls;
    },
  };

  constructor(chat: ChatHub, events: HubEvents, opts: HubServerOptions) {
    this.chat = chat;
    this.events = events;
    this.opts = opts;
    this.maxMessage = hubLineLimit(opts.maxLine);
    this.server = net.createServer((socket) => this.accept(socket));
    this.watchdog = setInterval(() => this.checkThreads(), opts.pingIntervalMs);
    this.watchdog.unref();
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  broadcast(message: HubToThread): void {
    for (const link of this.links) link.send(message);
  }

  close(): void {
    clearInterval(this.watchdog);
    this.server.close();
  }

  /** Pings every thread; one that has been silent past the timeout is treated as dead. */
  private checkThreads(): void {
    const now = Date.now();
    for (const link of this.links) {
      const silentMs = now - link.lastSeen;
      if (silentMs > this.opts.threadTimeoutMs) {
        link.close();
        this.events.onUnresponsive(link, silentMs);
      } else {
        link.send({ k: "ping" });
      }
    }
  }

  private log(
    link: ThreadLink | null,
    msg: string,
    meta: Record<string, unknown>,
    level: LogRecord["level"] = "error",
  ): void {
    this.events.onLog(link, { k: "log", level, msg, meta });
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const reader = new NdjsonReader(this.maxMessage);
    // Everything sent to this thread in one tick leaves in one write.
    const write = corkedWriter(socket);
    const conn: Connection = {
      link: null,
      socket,
      send: (message) => {
        let encoded = encode(message);
        if (encoded.length * 3 > this.maxMessage && Buffer.byteLength(encoded) > this.maxMessage) {
          // Never send what the thread's reader must refuse: a request gets an error instead.
          this.log(conn.link, "hub message too large for the link; not sent", {
            kind: message.k,
            bytes: encoded.length,
          });
          if (message.k !== "reply") return;
          const body: ErrorReply = { error: "answer too large" };
          encoded = `${JSON.stringify({ k: "reply", seq: message.seq, body })}\n`;
        }
        write(encoded);
      },
    };
    socket.on("data", (chunk: Buffer) => {
      if (conn.link) conn.link.lastSeen = Date.now();
      const ok = reader.push(chunk, (line) => {
        try {
          this.dispatch(conn, JSON.parse(line) as ThreadToHub);
        } catch (error) {
          this.events.onLog(conn.link, {
            k: "log",
            level: "error",
            msg: "hub message failed",
            meta: { error: String(error) },
          });
        }
      });
      if (!ok) {
        this.log(conn.link, "hub message from a thread too large; link closed", { limit: this.maxMessage });
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      const link = conn.link;
      if (!link) return;
      this.links.delete(link);
      this.chat.peerGone(link);
      this.events.onGone(link);
    });
  }

  private dispatch(conn: Connection, message: ThreadToHub): void {
    const { k } = message;
    if (Object.hasOwn(this.linkMessages, k)) {
      (this.linkMessages[k as LinkMessage["k"]] as LinkHandler)(conn, message);
      return;
    }
    const peer = conn.link;
    if (!peer) return;
    if (Object.hasOwn(NOTICES, k))
      (NOTICES[k as ChatNotice["k"]] as ChatHandler<void>)(this.chat, peer, message);
    else if (Object.hasOwn(REQUESTS, k)) this.answer(conn, peer, message as HubRequest);
  }

  /**
   * Runs a request's handler and replies with its result, or with an error if it threw; a result
   * still to come (the cluster's hub) is replied to when it settles, one at once is sent at once.
   */
  private answer(conn: Connection, peer: ThreadLink, request: HubRequest): void {
    let body: Maybe<HubReply> | ErrorReply;
    try {
      body = (REQUESTS[request.k] as ChatHandler<Maybe<HubReply>>)(this.chat, peer, request);
    } catch (error) {
      body = this.failed(peer, request, error);
    }
    if (isPending(body)) {
      body.then(
        (settled) => this.reply(conn, request, settled),
        (error: unknown) => this.reply(conn, request, this.failed(peer, request, error)),
      );
      return;
    }
    this.reply(conn, request, body);
  }

  private failed(peer: ThreadLink, request: HubRequest, error: unknown): ErrorReply {
    if (error instanceof BackendFault) {
      // The cluster's Redis down or refusing writes: expected (the user gets a polite `! ` line),
      // one line with its sentence, no stack; and one per fault every FAULT_LOG_EVERY_MS, not one
      // per request: a connection typing names during an outage would fill the disk.
      const now = Date.now();
      const last = this.faultLogged;
      if (last.sentence === error.message && now - last.at < FAULT_LOG_EVERY_MS) {
        last.alike++;
        return { error: `hub: ${error.message}` };
      }
      this.log(
        peer,
        "hub request failed; the thread is answered with an error",
        {
          kind: request.k,
          error: error.message,
          ...(last.alike > 0 ? { alikeSinceLastLine: last.alike } : {}),
        },
        "warn",
      );
      this.faultLogged = { sentence: error.message, at: now, alike: 0 };
      return { error: `hub: ${error.message}` };
    }
    this.log(peer, "hub request failed; the thread is answered with an error", {
      kind: request.k,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return { error: `hub: ${error instanceof Error ? error.message : String(error)}` };
  }

  private reply(conn: Connection, request: HubRequest, body: HubReply | ErrorReply): void {
    // A leave without a seq asks for no answer.
    if (request.seq !== undefined) conn.send({ k: "reply", seq: request.seq, body });
  }

  private hello(conn: Connection, worker: number, thread: number): void {
    const link: ThreadLink = {
      worker,
      thread,
      sessions: { chat: 0, echo: 0 },
      listening: {},
      lastSeen: Date.now(),
      send: conn.send,
      close: () => conn.socket.destroy(),
    };
    conn.link = link;
    this.links.add(link);
    // Before the welcome opens its listeners: the first connection is already checked.
    conn.send({ k: "bans", rules: this.chat.addressBans() });
    conn.send({ k: "welcome", ...this.events.onHello(link) });
  }
}
