import http from "node:http";
import type net from "node:net";
import { EXPOSITION_CONTENT_TYPE } from "../../protocol/metrics-exposition.ts";
import { formatHost } from "./listeners.ts";
import type { Log } from "./log/logger.ts";
import { StartupError } from "./startup-error.ts";

/** The bounds of the metrics listener: it is for a scraper or two, and no client may hold it. */
const HTTP_MAX_CONNECTIONS = 16;
const HTTP_HEADERS_TIMEOUT_MS = 5000;
const HTTP_REQUEST_TIMEOUT_MS = 10_000;
const HTTP_IDLE_TIMEOUT_MS = 10_000;
const HTTP_MAX_HEADER_BYTES = 8192;
const HTTP_TIMEOUT_CHECK_MS = 1000;

export interface MetricsHttpOptions {
  host: string;
  port: number;
  /** The exposition text now (collected from the threads). */
  exposition(): Promise<string>;
  log: Log;
}

export interface MetricsHttp {
  /** host:port as bound, for the ready line. */
  readonly address: string;
  close(): void;
}

/**
 * Serves GET /metrics (--metrics-port) in Prometheus's text format; any other path is 404 and
 * any other method 405. A request's body is never kept (it is read and dropped), the headers
 * and the whole request have timeouts, idle connections are closed and there are at most a few,
 * so a slow or hostile client costs a socket for seconds, never the daemon.
 */
export function serveMetricsHttp(opts: MetricsHttpOptions): Promise<MetricsHttp> {
  const server = http.createServer(
    {
      headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
      maxHeaderSize: HTTP_MAX_HEADER_BYTES,
      // The two timeouts above are checked this often (Node's default, 30 s, would let a slow client stay that long).
      connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_MS,
    },
    (req, res) => void serveRequest(req, res, opts),
  );
  server.maxConnections = HTTP_MAX_CONNECTIONS;
  server.keepAliveTimeout = HTTP_IDLE_TIMEOUT_MS / 2;
  server.setTimeout(HTTP_IDLE_TIMEOUT_MS, (socket: net.Socket) => socket.destroy());
  server.on("clientError", (_error, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const where = `${formatHost(opts.host)}:${opts.port}`;
      reject(
        new StartupError(
          error.code === "EADDRINUSE"
            ? `the metrics port ${opts.port} is already in use (--metrics-port, ${where}); stop what holds it or pick another port`
            : `cannot serve metrics on ${where} (--metrics-port, --metrics-host): ${error.code ?? error.message}`,
          { cause: error },
        ),
      );
    };
    server.once("error", failed);
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
      server.off("error", failed);
      server.on("error", (error) => opts.log("error", "metrics listener error", { error: error.message }));
      const { port } = server.address() as net.AddressInfo;
      resolve({
        address: `${formatHost(opts.host)}:${port}`,
        close: () => {
          server.close();
          server.closeAllConnections();
        },
      });
    });
  });
}

async function serveRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: MetricsHttpOptions,
): Promise<void> {
  // Whatever body comes is read and dropped, never buffered.
  req.resume();
  const path = (req.url ?? "").split("?")[0];
  if (path !== "/metrics") return answer(res, 404, "not found: the metrics are at /metrics\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return answer(res, 405, "method not allowed: GET /metrics\n");
  }
  let text: string;
  try {
    text = await opts.exposition();
  } catch (error) {
    opts.log("error", "metrics could not be collected", { error: String(error) });
    return answer(res, 500, "metrics could not be collected\n");
  }
  answer(res, 200, text, EXPOSITION_CONTENT_TYPE);
}

function answer(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  if (res.destroyed) return;
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
