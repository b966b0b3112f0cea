import net from "node:net";

export const SERVER_CLOSED = "tschat: the server closed the connection";

/** Connects, or rejects with the message tschat prints when it cannot. */
export function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      socket.on("error", () => {}); // a reset shows up as "close", which each mode handles
      resolve(socket);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      const hint = error.code === "ECONNREFUSED" ? " — is tsd-daemon running?" : "";
      reject(new Error(`tschat: cannot connect to ${host}:${port}: ${error.code ?? error.message}${hint}`));
    });
  });
}

/** Sends one line the way telnet does, ending CR LF; a no-op once the connection is gone. */
export function sendLine(socket: net.Socket, line: string): void {
  if (socket.writable) socket.write(`${line}\r\n`);
}

/** `/quit` or `/quit REASON`. */
export function isQuit(line: string): boolean {
  return /^\/quit(\s|$)/.test(line);
}
