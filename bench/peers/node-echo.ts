// The minimal reference peer for the echo benchmarks: a single-process Node echo
// server, `net.createServer(s => s.pipe(s))`, on the same Node binary as tsd.
// Prints one ready line in the same shape as tsd-daemon's, e.g.
//   node-echo ready: echo=127.0.0.1:40123 pid=1234
// and exits 0 on SIGTERM/SIGINT.
import net from "node:net";

const host = process.argv[2] ?? "127.0.0.1";

const server = net.createServer((s) => {
  // A peer that resets its side (the load generator closing with bytes in flight)
  // must not crash the server: that is the only addition to the one-liner.
  s.on("error", () => {});
  s.pipe(s);
});

server.listen(0, host, () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`node-echo ready: echo=${addr.address}:${addr.port} pid=${process.pid}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
