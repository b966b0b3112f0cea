import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { ChatClient } from "./chat-client.ts";

/** A throwaway self-signed certificate for localhost and 127.0.0.1, made for one test run (never committed). */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  /** Its serial number as openssl and node:tls print it (upper-case hex). */
  serial: string;
}

/** Makes a certificate with openssl in dir, with the given serial (hex digits); name keeps several apart. */
export function makeCertificate(dir: string, name: string, serial: string): TestCertificate {
  const certFile = path.join(dir, `${name}-cert.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-set_serial",
      `0x${serial}`,
    ],
    { stdio: "ignore" },
  );
  return { certFile, keyFile, cert: fs.readFileSync(certFile, "utf8"), serial: serial.toUpperCase() };
}

/** Whether the openssl command is there (the tests that need it are skipped with that reason otherwise). */
export function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Connects over TLS, trusting only ca; rejects on a handshake failure. */
export function connectTls(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ...options }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A chat client over TLS that trusts the certificate ca. */
export async function tlsChatClient(port: number, ca: string): Promise<ChatClient> {
  return ChatClient.over(await connectTls(port, { ca }));
}

/** The serial of the certificate a fresh TLS connection is served (no check of trust). */
export async function servedSerial(port: number): Promise<string> {
  const socket = await connectTls(port, { rejectUnauthorized: false });
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial.toUpperCase();
}

/** The port of a service in the daemon's ready line (chat-tls=127.0.0.1:PORT), 0 when absent. */
export function readyPortOf(stdout: string, service: string): number {
  const line = stdout.split("\n").find((l) => l.startsWith("tsd-daemon ready:")) ?? "";
  return Number(new RegExp(` ${service}=[^ ]*:(\\d+)`).exec(line)?.[1] ?? 0);
}
