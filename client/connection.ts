import net from "node:net";
import tls from "node:tls";

export const SERVER_CLOSED = "tschat: the server closed the connection";

/**
 * What tschat says when the chat server closes unasked. A chat server greets at once; one that
 * closes without a word after a plain connect is most likely a TLS port that waited in vain for a
 * handshake (the chat's --tls-port), so say so.
 */
export function serverClosed(socket: net.Socket, heardAnything: boolean): string {
  if (heardAnything || socket instanceof tls.TLSSocket) return SERVER_CLOSED;
  return `${SERVER_CLOSED} without a word: if that port is the server's TLS port, use --tls`;
}

/** How to speak TLS to the server (tschat --tls): whom to trust. */
export interface TlsChoice {
  /** PEM certificates to trust instead of the system's (--ca FILE), e.g. a self-signed one. */
  ca?: string;
  /** Accept any certificate (--insecure): encrypted, but anyone in the middle can read it. */
  insecure: boolean;
}

/** Connects (over TLS when asked), or rejects with the message tschat prints when it cannot. */
export function connect(host: string, port: number, secure?: TlsChoice): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({
          host,
          port,
          // SNI takes a host name only; an address is checked against the certificate's IP names.
          ...(net.isIP(host) ? {} : { servername: host }),
          ca: secure.ca,
          rejectUnauthorized: !secure.insecure,
          minVersion: "TLSv1.2",
        })
      : net.connect({ host, port });
    socket.once(secure ? "secureConnect" : "connect", () => {
      socket.removeAllListeners("error");
      socket.on("error", () => {}); // a reset shows up as "close", which each mode handles
      resolve(socket);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new Error(`tschat: cannot connect to ${host}:${port}${secure ? " over TLS" : ""}: ${why(error)}`),
      );
    });
  });
}

/** The reason, with what to do about it where there is something to do. */
function why(error: NodeJS.ErrnoException): string {
  const code = error.code ?? error.message;
  if (error.code === "ECONNREFUSED") return `${code} — is tsd-daemon running?`;
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG")
    return `${code}: the server does not speak TLS on this port (its plain chat port? then leave out --tls)`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
    return `${code}: the server's certificate is not trusted (--ca FILE to trust it, --insecure to skip the check)`;
  return code;
}

/** Sends one line the way telnet does, ending CR LF; a no-op once the connection is gone. */
export function sendLine(socket: net.Socket, line: string): void {
  if (socket.writable) socket.write(`${line}\r\n`);
}

/** `/quit` or `/quit REASON`. */
export function isQuit(line: string): boolean {
  return /^\/quit(\s|$)/.test(line);
}
