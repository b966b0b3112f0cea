import net from "node:net";

/** Connects to 127.0.0.1:port, from localAddress when given (another 127.0.0.x is another client address). */
export function connect(port: number, host = "127.0.0.1", localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, localAddress });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Sends data on an echo connection and resolves with exactly that many bytes back. */
export function echoRoundTrip(socket: net.Socket, data: Buffer, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`echo: got ${got} of ${data.length} bytes`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= data.length) {
        cleanup();
        resolve(Buffer.concat(parts));
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`echo: connection closed after ${got} of ${data.length} bytes`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.write(data);
  });
}

/** Resolves with the error code of a connection attempt, or "connected". */
export function connectOutcome(port: number, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
