import net from "node:net";

/** One JSON-RPC call straight over the control socket (for methods tsctl has no command for). */
export function callRpc(
  socketPath: string,
  method: string,
  params?: unknown,
  timeoutMs = 15_000,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method}: no answer on ${socketPath} in ${timeoutMs} ms`));
    }, timeoutMs);
    let out = "";
    socket.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl !== -1) {
        clearTimeout(timer);
        socket.destroy();
        resolve(JSON.parse(out.slice(0, nl)));
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })}\n`);
  });
}
