import net from "node:net";
import type { HubToThread, ListenPorts, ServiceName } from "../../protocol/hub-messages.ts";
import { StartupError } from "./startup-error.ts";

/** A session thread as the listener bookkeeping sees it: who it is, and how to tell it to listen. */
export interface ListeningThread {
  readonly worker: number;
  readonly thread: number;
  send(message: HubToThread): void;
}

/** "[::1]" for an IPv6 host, so host:port reads right. */
export function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** The flag that sets each service's port, for the sentence that names a port in use. */
const PORT_FLAGS: Record<ServiceName, string> = {
  chat: "--chat-port",
  echo: "--echo-port",
  "chat-tls": "--tls-port",
};

/** Binds host:port alone (no SO_REUSEPORT) and lets it go: the port bound, or the bind's error. */
function probe(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Holds host:port with SO_REUSEPORT until the daemon's own threads listen on it: the threads
 * can join it, while another program's bind of the port, and a port of 0 asked for by anyone
 * (another tsd's probe, or this daemon's next service), fails or is given another port. What it
 * accepts (before the daemon is ready) is closed at once.
 */
function hold(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once("error", reject);
    server.listen({ host, port, reusePort: true, exclusive: true }, () => {
      server.off("error", reject);
      server.on("error", () => {});
      resolve(server);
    });
  });
}

/** A port the daemon is to listen on cannot be had: in use (EADDRINUSE) or refused (code). */
export class PortUnavailable extends StartupError {
  readonly service: ServiceName;
  readonly host: string;
  readonly port: number;
  readonly code: string;

  constructor(service: ServiceName, host: string, port: number, error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    super(
      code === "EADDRINUSE"
        ? `port ${port} (${service}) on ${formatHost(host)} is already in use by another program or another tsd-daemon; stop it or choose another port with ${portFlag(service)}`
        : `cannot listen for ${service} on ${formatHost(host)}:${port}: ${code}`,
      { cause: error },
    );
    this.name = "PortUnavailable";
    this.service = service;
    this.host = host;
    this.port = port;
    this.code = code;
  }
}

/** resume: threads that have not reported their listeners closed since the pause (frozen, or slow). */
export class ListenersStillOpen extends Error {
  /** worker.thread.service of each listener still open. */
  readonly listeners: string[];

  constructor(listeners: string[]) {
    const threads = [...new Set(listeners.map((key) => key.split(".").slice(0, 2).join(".")))];
    super(
      `session thread${threads.length > 1 ? "s" : ""} ${threads.map((t) => `w${t.replace(".", ".t")}`).join(", ")} did not close ${threads.length > 1 ? "their" : "its"} listeners after the pause (not answering?)`,
    );
    this.name = "ListenersStillOpen";
    this.listeners = listeners;
  }
}

export function portFlag(service: ServiceName): string {
  return PORT_FLAGS[service];
}

/** The services' ports, each held by the primary until a session thread of the daemon listens on it. */
export class PortClaim {
  readonly ports: ListenPorts;
  readonly #holders: Map<ServiceName, net.Server>;

  constructor(ports: ListenPorts, holders: Map<ServiceName, net.Server>) {
    this.ports = ports;
    this.#holders = holders;
  }

  /** A thread of the daemon listens on the service's port: the primary lets go of it. */
  release(service: ServiceName): void {
    this.#holders.get(service)?.close();
    this.#holders.delete(service);
  }

  releaseAll(): void {
    for (const service of [...this.#holders.keys()]) this.release(service);
  }
}

/**
 * Claims each service's port before any session thread binds it. The threads bind with
 * SO_REUSEPORT, which would let them join another program's (or another tsd's) group on a
 * port that is taken and take a share of its connections; so the primary first binds each
 * port alone. A port in use stops the start (StartupError naming it); a port of 0 is chosen
 * here, by that exclusive bind. Each port is then held (with SO_REUSEPORT) until a thread
 * listens on it: released at once, a port of 0 could be chosen again by the next service's
 * bind (chat and echo on one port, each connection reaching either by chance) or by another
 * daemon starting beside this one.
 */
export async function claimPorts(host: string, asked: ListenPorts): Promise<PortClaim> {
  const ports: ListenPorts = {};
  const holders = new Map<ServiceName, net.Server>();
  const claim = new PortClaim(ports, holders);
  try {
    for (const [service, port] of Object.entries(asked) as [ServiceName, number][]) {
      const bound = await probe(host, port).catch((error) => {
        throw new PortUnavailable(service, host, port, error);
      });
      holders.set(
        service,
        await hold(host, bound).catch((error) => {
          throw new PortUnavailable(service, host, bound, error);
        }),
      );
      ports[service] = bound;
    }
  } catch (error) {
    claim.releaseAll();
    throw error;
  }
  return claim;
}

/**
 * Listeners keeps the services' ports and knows when every thread listens. A port of 0 is
 * picked by the first session thread that listens (the kernel chooses, in a real listener
 * that serves what it accepts); the other threads wait for it and then join that port. If
 * the thread picking it dies first, the next waiting thread picks it.
 */
export class Listeners {
  readonly host: string;
  private readonly services: { name: ServiceName; port: number }[];
  private readonly expected: number;
  private readonly isOpen: () => boolean;
  private picker: ListeningThread | null = null;
  private readonly waiting = new Set<ListeningThread>();
  /** worker.thread.service of every listener bound so far. */
  private readonly bound = new Set<string>();
  /** worker.thread.service of the listeners open now (a pause closes them). */
  private readonly open = new Set<string>();
  private allClosed: PromiseWithResolvers<void> | null = null;
  private readonly ready = Promise.withResolvers<void>();
  /** The ports the primary holds from the start until a thread listens on each (a pause lets go of them). */
  private claim: Pick<PortClaim, "release" | "releaseAll"> | null = null;

  /**
   * ports: each service's port as asked for (0: any); threads: how many session threads in
   * all; isOpen: whether the listeners are to be open now (not paused, not stopping);
   * echoListeners: how many threads listen for echo (one per worker process, ECHO_THREAD).
   */
  constructor(
    host: string,
    ports: ListenPorts,
    threads: number,
    isOpen: () => boolean,
    echoListeners = threads,
  ) {
    this.host = host;
    this.services = (Object.entries(ports) as [ServiceName, number][]).map(([name, port]) => ({
      name,
      port,
    }));
    this.expected = this.services.reduce((n, s) => n + (s.name === "echo" ? echoListeners : threads), 0);
    this.isOpen = isOpen;
    // A listen error after start has nobody waiting: it is logged where it is reported.
    this.ready.promise.catch(() => {});
  }

  /** The ports, 0 for one not picked yet. */
  ports(): ListenPorts {
    return Object.fromEntries(this.services.map((s) => [s.name, s.port]));
  }

  /** The primary holds the ports (claimPorts) until a thread listens on each: released service by service. */
  hold(claim: Pick<PortClaim, "release" | "releaseAll">): void {
    this.claim?.releaseAll();
    this.claim = claim;
  }

  /**
   * Before the listeners open again (resume): the ports were free while paused, so each is bound
   * alone again, as at start, and let go at once (the threads are told to listen right after; a
   * hold would close what it accepted from clients of a running daemon). Waits first for the
   * threads to report their listeners closed (a pause just sent is still being carried out).
   * Rejects with ListenersStillOpen when a thread has not closed its own, with PortUnavailable when
   * another program took a port: the threads would otherwise join its SO_REUSEPORT group and share
   * the port.
   */
  async checkFree(closeTimeoutMs = 5000): Promise<void> {
    this.releaseHeld();
    await this.untilClosed(closeTimeoutMs);
    if (this.open.size > 0) throw new ListenersStillOpen([...this.open]);
    for (const [service, port] of Object.entries(this.ports()) as [ServiceName, number][])
      await probe(this.host, port).catch((error) => {
        throw new PortUnavailable(service, this.host, port, error);
      });
  }

  /** Resolves once no thread reports a listener open, or after timeoutMs. */
  private async untilClosed(timeoutMs: number): Promise<void> {
    if (this.open.size === 0) return;
    this.allClosed ??= Promise.withResolvers<void>();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.allClosed.promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private noticeClosed(): void {
    if (this.open.size > 0 || !this.allClosed) return;
    this.allClosed.resolve();
    this.allClosed = null;
  }

  /** Lets go of whatever the primary still holds (a pause, a stop). */
  releaseHeld(): void {
    this.claim?.releaseAll();
    this.claim = null;
  }

  /** "chat=127.0.0.1:4000" for each service, as the ready line shows them. */
  addresses(): string[] {
    return this.services.map((s) => `${s.name}=${formatHost(this.host)}:${s.port}`);
  }

  /** A thread said hello: the ports it is to listen on, or null while another thread picks them. */
  hello(thread: ListeningThread): ListenPorts | null {
    if (this.portsUnknown()) {
      if (this.picker) {
        this.waiting.add(thread);
        return null;
      }
      this.picker = thread;
    }
    return this.ports();
  }

  /** A thread reports a listener: bound (ok), closed, or failed (error, which fails the start). */
  listening(thread: ListeningThread, service: ServiceName, ok: boolean, port: number, error?: string): void {
    if (error) {
      this.ready.reject(
        new StartupError(`cannot listen for ${service} on ${formatHost(this.host)}:${port}: ${error}`),
      );
      return;
    }
    const key = `${thread.worker}.${thread.thread}.${service}`;
    if (!ok) {
      this.open.delete(key);
      this.noticeClosed();
      return;
    }
    this.open.add(key);
    this.claim?.release(service);
    const entry = this.services.find((s) => s.name === service);
    if (entry && entry.port === 0) {
      entry.port = port;
      if (!this.portsUnknown()) {
        this.picker = null;
        for (const waiter of this.waiting)
          waiter.send({ k: "listen", on: this.isOpen(), ports: this.ports() });
        this.waiting.clear();
      }
    }
    this.bound.add(key);
    if (this.bound.size >= this.expected) this.ready.resolve();
  }

  /** A thread is gone: it no longer waits, and if it was picking the port the next waiting thread does. */
  gone(thread: ListeningThread): void {
    for (const key of this.open)
      if (key.startsWith(`${thread.worker}.${thread.thread}.`)) this.open.delete(key);
    this.noticeClosed();
    this.waiting.delete(thread);
    if (this.picker !== thread) return;
    this.picker = this.waiting.values().next().value ?? null;
    if (this.picker) {
      this.waiting.delete(this.picker);
      this.picker.send({ k: "listen", on: true, ports: this.ports() });
    }
  }

  /** Resolves once every thread listens on every service; rejects on a listen error or after timeoutMs. */
  async whenReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StartupError(`listeners not ready after ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.ready.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private portsUnknown(): boolean {
    return this.services.some((s) => s.port === 0);
  }
}
