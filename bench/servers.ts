// Starting and stopping the servers under test. Each kind of server is a
// ServerKind; scenarios pick them by id. To add a peer (ncat, ngircd, redis...),
// add a ServerKind here: `start` must resolve once the server accepts
// connections and report where, and `stop` must leave no process behind.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pinned, treeCpuSeconds, which } from "./proc.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type Service = "echo" | "chat";

export interface Endpoint {
  host: string;
  port: number;
}

export interface StartOptions {
  /** Services the scenario needs (tsd is started with only these enabled). */
  services: readonly Service[];
  /** taskset CPU list, or undefined for no pinning. */
  cpus?: string;
  /** How long to wait for the ready line. */
  readyTimeoutMs?: number;
  /**
   * Called with the server's fresh state directory before it starts (tsd: the
   * chat scenarios write identities.json there). Peers without accounts ignore it.
   */
  prepare?: (stateDir: string) => Promise<void>;
}

export interface RunningServer {
  id: string;
  pid: number;
  endpoints: Partial<Record<Service, Endpoint>>;
  /** The ready line as printed, for the record. */
  readyLine: string;
  /** The full command line, for the record. */
  command: string[];
  /** CPU seconds used so far by the server and all its descendants. */
  cpuSeconds(): number;
  stop(): Promise<StopReport>;
}

export interface StopReport {
  exitCode: number | null;
  signal: string | null;
  /** true when SIGTERM was not enough and the process group had to be killed. */
  forced: boolean;
  /** Milliseconds from SIGTERM until the process (group) was gone. */
  stopMs: number;
  /** stderr tail, for diagnosing an unclean stop. */
  stderrTail: string;
}

export interface ServerKind {
  id: string;
  /** Short label for tables. */
  label: string;
  /** One line for the report: what this server is and how it is configured. */
  describe: string;
  services: readonly Service[];
  /** A reason the server cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(opts: StartOptions): Promise<RunningServer>;
}

// ---------------------------------------------------------------------------
// Generic "spawn a process that prints a ready line" machinery

const live = new Set<RunningServer>();

/** Stop every server still running (used on Ctrl-C, on errors and by the watchdog). */
export async function stopAllServers(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.stop()));
}

/** Parse `name ready: k=v k=v ...` into its key=value fields. */
export function parseReadyLine(line: string): Record<string, string> | undefined {
  const m = /\bready:\s*(.*)$/.exec(line);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const token of m[1]!.split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) fields[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return fields;
}

function parseEndpoint(value: string | undefined): Endpoint | undefined {
  if (!value) return undefined;
  const colon = value.lastIndexOf(":");
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  return { host: value.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

export interface SpawnSpec {
  id: string;
  cmd: string;
  args: string[];
  cpus?: string;
  readyTimeoutMs: number;
  cleanup?: () => Promise<void>;
  /** The ready line's field to take each service's endpoint from, when not its own name (tsd-tls: chat-tls). */
  endpointFields?: Partial<Record<Service, string>>;
  /**
   * For servers that print no `ready:` line (ncat, ngircd, redis): the server
   * is ready once a TCP connection to this port succeeds; the ready line is
   * then made up as `ID ready: chat=127.0.0.1:PORT`.
   */
  probePort?: number;
}

function tail(s: string, n = 2000): string {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

/** Spawn a server process and resolve once it prints its `... ready: k=v ...` line. */
export async function spawnUntilReady(spec: SpawnSpec): Promise<RunningServer> {
  const [cmd, args] = pinned(spec.cpus, spec.cmd, spec.args);
  // detached: the server gets its own process group, so that whatever it forks
  // can be killed as a group if it does not exit cleanly.
  const child: ChildProcess = spawn(cmd, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    stderr = tail(stderr + d, 8000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.on("error", resolve));

  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve) => {
    lines.on("line", (line) => {
      if (spec.probePort === undefined && parseReadyLine(line)) resolve(line);
    });
    if (spec.probePort !== undefined) {
      const port = spec.probePort;
      void (async () => {
        const deadline = Date.now() + spec.readyTimeoutMs;
        while (Date.now() < deadline && child.exitCode === null) {
          if (await probeTcp(port)) return resolve(`${spec.id} ready: chat=127.0.0.1:${port}`);
          await sleep(100);
        }
      })();
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timeout: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), spec.readyTimeoutMs);
  });
  const first = await Promise.race([
    ready,
    timeout,
    exited.then((e) => ({ exited: e })),
    spawnError.then((err) => ({ err })),
  ]);
  clearTimeout(timer);

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  };

  if (typeof first !== "string") {
    killGroup("SIGKILL");
    await spec.cleanup?.();
    const what =
      "timeout" in first
        ? `no ready line within ${spec.readyTimeoutMs} ms`
        : "err" in first
          ? `could not start: ${first.err.message}`
          : `exited before ready (code ${first.exited.code}, signal ${first.exited.signal})`;
    throw new Error(
      `${spec.id}: ${what}${stderr.trim() ? `\n    stderr: ${tail(stderr.trim(), 600).replaceAll("\n", "\n    ")}` : ""}`,
    );
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  lines.on("line", () => {});

  const fields = parseReadyLine(first)!;
  const endpoints: Partial<Record<Service, Endpoint>> = {};
  for (const service of ["echo", "chat"] as const) {
    const ep = parseEndpoint(fields[spec.endpointFields?.[service] ?? service]);
    if (ep) endpoints[service] = ep;
  }
  const pid = child.pid!;
  let stopping: Promise<StopReport> | undefined;
  const server: RunningServer = {
    id: spec.id,
    pid,
    endpoints,
    readyLine: first,
    command: [cmd, ...args],
    cpuSeconds: () => treeCpuSeconds(pid),
    stop() {
      stopping ??= (async () => {
        let forced = false;
        const t0 = Date.now();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const result = await Promise.race([exited, sleep(5000).then(() => undefined)]);
        if (!result) {
          forced = true;
          killGroup("SIGKILL");
        }
        const { code, signal } = result ?? (await exited);
        // Its worker processes get a second to follow; whatever is left goes.
        for (let waited = 0; groupAlive(pid); waited += 50) {
          if (waited >= 1000) {
            forced = true;
            killGroup("SIGKILL");
            break;
          }
          await sleep(50);
        }
        const stopMs = Date.now() - t0;
        live.delete(server);
        await spec.cleanup?.();
        return { exitCode: code, signal, forced, stopMs, stderrTail: tail(stderr.trim(), 600) };
      })();
      return stopping;
    },
  };
  live.add(server);
  return server;
}

/**
 * One TCP connection to 127.0.0.1:port: true when it connects. It waits for the
 * server's first bytes (or 300 ms) before closing, because ncat --chat exits
 * when a client is gone before it has looked at it.
 */
function probeTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let connected = false;
    const done = () => {
      sock.destroy();
      resolve(connected);
    };
    sock.on("connect", () => {
      connected = true;
      setTimeout(() => sock.end(), 300).unref();
    });
    sock.on("data", () => sock.end());
    sock.on("close", done);
    sock.on("error", done);
    sock.setTimeout(2000, done);
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// The server kinds

const tsdMain = path.join(repoRoot, "daemon", "main.ts");

/** A throwaway self-signed P-256 certificate for 127.0.0.1 in dir, made with openssl. */
function benchCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  args.push("-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost");
  return new Promise((resolve, reject) =>
    execFile("openssl", args, { timeout: 20_000 }, (error) =>
      error ? reject(error) : resolve({ cert, key }),
    ),
  );
}

/** Node options tsd starts with (bench --cpu-prof). */
let tsdNodeArgs: string[] = [];

/** Starts every tsd of this run under `node --cpu-prof`, its profiles in dir (absolute). */
export function profileTsdInto(dir: string): void {
  tsdNodeArgs = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/**
 * tsd itself, with optional extra arguments (e.g. a different worker shape). tls: chat only
 * over TLS (a fresh self-signed certificate, --plaintext-chat no), its port reported as chat.
 */
function tsd(id: string, label: string, extraArgs: string[], shape: string, tls = false): ServerKind {
  return {
    id,
    label,
    describe: `tsd daemon (${process.execPath} daemon/main.ts), ${shape}${extraArgs.length ? `: ${extraArgs.join(" ")}` : ""}`,
    services: tls ? ["chat"] : ["echo", "chat"],
    unavailable: () =>
      !existsSync(tsdMain)
        ? "daemon/main.ts does not exist yet"
        : tls && !which("openssl")
          ? "openssl is not installed (it makes the test certificate)"
          : undefined,
    async start(opts) {
      const dir = await mkdtemp(path.join(os.tmpdir(), "tsd-bench-"));
      const tlsArgs: string[] = [];
      if (tls) {
        const { cert, key } = await benchCertificate(dir);
        tlsArgs.push("--tls-port", "0", "--tls-cert", cert, "--tls-key", key, "--plaintext-chat", "no");
      }
      const args = [
        ...tsdNodeArgs,
        tsdMain,
        "--host",
        "127.0.0.1",
        "--socket",
        path.join(dir, "control.sock"),
        "--state-dir",
        dir,
        "--log-dir",
        dir,
        "--log-level",
        "warn",
        // Benchmarks measure the server, not its abuse limits: no per-address cap, no flood control,
        // no bound on new accounts (every client registers from 127.0.0.1).
        "--max-per-address",
        "0",
        "--flood-rate",
        "0",
        "--registrations-per-hour",
        "0",
      ];
      if (opts.services.includes("echo")) args.push("--echo-port", "0");
      else args.push("--no-echo");
      if (opts.services.includes("chat")) args.push("--chat-port", "0");
      else args.push("--no-chat");
      args.push(...extraArgs, ...tlsArgs);
      await opts.prepare?.(dir);
      return spawnUntilReady({
        id,
        cmd: process.execPath,
        args,
        cpus: opts.cpus,
        readyTimeoutMs: opts.readyTimeoutMs ?? 20000,
        cleanup: () => rm(dir, { recursive: true, force: true }),
        endpointFields: tls ? { chat: "chat-tls" } : undefined,
      });
    },
  };
}

const nodeEcho: ServerKind = {
  id: "node-echo",
  label: "node-echo",
  describe: `minimal single-process Node echo, net.createServer(s => s.pipe(s)) (bench/peers/node-echo.ts on ${process.execPath})`,
  services: ["echo"],
  unavailable: () => undefined,
  start(opts) {
    return spawnUntilReady({
      id: "node-echo",
      cmd: process.execPath,
      args: [path.join(repoRoot, "bench", "peers", "node-echo.ts"), "127.0.0.1"],
      cpus: opts.cpus,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
    });
  },
};

// ---------------------------------------------------------------------------
// Chat peers: Debian packages (bench/setup.sh installs them). None prints a
// ready line, so they are started on a free port and probed.

const sbin = (cmd: string) =>
  which(cmd) ?? [`/usr/sbin/${cmd}`, `/usr/bin/${cmd}`].find((p) => existsSync(p));
const missing = (cmd: string, pkg: string) =>
  sbin(cmd) ? undefined : `${cmd} is not installed (apt-get install -y ${pkg}, or sh bench/setup.sh)`;

const ncatChat: ServerKind = {
  id: "ncat",
  label: "ncat",
  describe:
    "ncat --chat -k -m 19000 (nmap's ncat: relays each line to every other client as `<userN> line`; no sign-in)",
  services: ["chat"],
  unavailable: () => missing("ncat", "ncat"),
  async start(opts) {
    const port = await freePort();
    return spawnUntilReady({
      id: "ncat",
      cmd: sbin("ncat")!,
      args: ["-l", "127.0.0.1", String(port), "--chat", "-k", "-m", "19000"],
      cpus: opts.cpus,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
      probePort: port,
    });
  },
};

const ngircdConf = path.join(repoRoot, "bench", "ngircd.conf");
const ngircd: ServerKind = {
  id: "ngircd",
  label: "ngircd",
  describe:
    "ngIRCd IRC server, bench/ngircd.conf (penalties off, no connection/join limits, no DNS/ident/PAM); " +
    "NICK/USER, JOIN #bench, PRIVMSG #bench",
  services: ["chat"],
  unavailable: () =>
    missing("ngircd", "ngircd") ?? (existsSync(ngircdConf) ? undefined : "bench/ngircd.conf missing"),
  async start(opts) {
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), "tsd-bench-ngircd-"));
    await chmod(dir, 0o755);
    const conf = path.join(dir, "ngircd.conf");
    await writeFile(
      conf,
      readFileSync(ngircdConf, "utf8").replaceAll("@PORT@", String(port)).replaceAll("@DIR@", dir),
      { mode: 0o644 },
    );
    return spawnUntilReady({
      id: "ngircd",
      cmd: sbin("ngircd")!,
      args: ["-n", "-f", conf],
      cpus: opts.cpus,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
      probePort: port,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    });
  },
};

const redis: ServerKind = {
  id: "redis",
  label: "redis",
  describe:
    "redis-server --save '' --appendonly no --maxclients 19000; receivers SUBSCRIBE bench, senders PUBLISH bench MSG (RESP)",
  services: ["chat"],
  unavailable: () => missing("redis-server", "redis-server"),
  async start(opts) {
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), "tsd-bench-redis-"));
    return spawnUntilReady({
      id: "redis",
      cmd: sbin("redis-server")!,
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxclients",
        "19000",
        "--dir",
        dir,
        "--loglevel",
        "warning",
      ],
      cpus: opts.cpus,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
      probePort: port,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    });
  },
};

export const SERVERS: Record<string, ServerKind> = {
  tsd: tsd("tsd", "tsd", [], "its defaults"),
  "tsd-w1t1": tsd(
    "tsd-w1t1",
    "tsd w1 t1",
    ["--workers", "1", "--threads", "1"],
    "1 worker process, 1 thread",
  ),
  "tsd-w2t2": tsd(
    "tsd-w2t2",
    "tsd w2 t2",
    ["--workers", "2", "--threads", "2"],
    "2 worker processes, 2 threads each",
  ),
  "tsd-w2t1": tsd(
    "tsd-w2t1",
    "tsd w2 t1",
    ["--workers", "2", "--threads", "1"],
    "2 worker processes, 1 thread each",
  ),
  "tsd-w1t2": tsd(
    "tsd-w1t2",
    "tsd w1 t2",
    ["--workers", "1", "--threads", "2"],
    "1 worker process, 2 threads",
  ),
  "tsd-tls": tsd(
    "tsd-tls",
    "tsd TLS",
    [],
    "its defaults, chat over TLS only (a self-signed P-256 certificate, --plaintext-chat no)",
    true,
  ),
  "node-echo": nodeEcho,
  ncat: ncatChat,
  ngircd,
  redis,
};
