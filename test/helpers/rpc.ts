import net from "node:net";

/** One JSON-RPC call straight over the control socket (for methods tsctl has no command for). */
export function callRpc(
  socketPath: string,
  method: string,
  params?: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let out = "";
    socket.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl !== -1) {
        socket.destroy();
        resolve(JSON.parse(out.slice(0, nl)));
      }
    });
    socket.on("error", reject);
    socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method, params })}\n`);
  });
}
