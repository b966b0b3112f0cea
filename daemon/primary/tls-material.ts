import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { X509Certificate, createPrivateKey } from "node:crypto";
import tls from "node:tls";
import type { TlsMaterial } from "../../protocol/hub-messages.ts";
import { secureContextOptions } from "../shared/tls-context.ts";

/** A certificate or key file that cannot be served; the message is one sentence naming the file. */
export class TlsMaterialError extends Error {
  readonly file: string;
  constructor(message: string, file: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsMaterialError";
    this.file = file;
  }
}

/** PEM files are small; a bigger one is not a certificate or a key (and is not read whole). */
const MAX_PEM_BYTES = 1 << 20;

async function readPem(file: string, what: string): Promise<string> {
  try {
    // Non-blocking, and only a regular file: a FIFO would hold a pool thread for ever.
    const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      if (!(await handle.stat()).isFile()) throw new Error("not a regular file");
      const buffer = Buffer.alloc(MAX_PEM_BYTES + 1);
      let filled = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
        filled += bytesRead;
        if (bytesRead === 0 || filled === buffer.length) break;
      }
      if (filled > MAX_PEM_BYTES) throw new Error(`bigger than ${MAX_PEM_BYTES} bytes`);
      return buffer.subarray(0, filled).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TlsMaterialError(`cannot read the TLS ${what} ${file}: ${reason}`, file, { cause: error });
  }
}

/**
 * Reads and checks the certificate and key: each must parse, and the key must be the
 * certificate's; the secure context a session thread will build is built here first, so a
 * thread is never sent material it cannot serve. Rejects with a TlsMaterialError naming the file.
 */
export async function loadTlsMaterial(certFile: string, keyFile: string): Promise<TlsMaterial> {
  const cert = await readPem(certFile, "certificate");
  const key = await readPem(keyFile, "key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TlsMaterialError(`the TLS certificate ${certFile} is not a PEM certificate`, certFile, {
      cause: error,
    });
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new TlsMaterialError(
      `the TLS key ${keyFile} is not a PEM private key (or it is encrypted)`,
      keyFile,
      {
        cause: error,
      },
    );
  }
  if (!certificate.checkPrivateKey(createPrivateKey(key)))
    throw new TlsMaterialError(
      `the TLS key ${keyFile} is not the key of the certificate ${certFile}`,
      keyFile,
    );
  const material = { cert, key };
  try {
    tls.createSecureContext(secureContextOptions(material));
  } catch (error) {
    throw new TlsMaterialError(
      `the TLS certificate ${certFile} cannot be served: ${(error as Error).message}`,
      certFile,
      { cause: error },
    );
  }
  return material;
}

/** What a reload of the certificate found: the new certificate's serial and expiry, for the log. */
export interface TlsRenewal {
  serial: string;
  validTo: string;
}

/**
 * TlsCertificate holds the material in force. reload() reads the files again and makes the new
 * material current only if it passes every check; a bad file leaves the old certificate in
 * force and rejects with the reason (a TlsMaterialError naming the file).
 */
export class TlsCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  private current: TlsMaterial;

  private constructor(certFile: string, keyFile: string, material: TlsMaterial) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.current = material;
  }

  /** Loads and checks the files (a TlsMaterialError at start is exit 1). */
  static async load(certFile: string, keyFile: string): Promise<TlsCertificate> {
    return new TlsCertificate(certFile, keyFile, await loadTlsMaterial(certFile, keyFile));
  }

  /** The material in force: what a thread that says hello is given. */
  get material(): TlsMaterial {
    return this.current;
  }

  async reload(): Promise<TlsRenewal> {
    const material = await loadTlsMaterial(this.certFile, this.keyFile);
    this.current = material;
    const certificate = new X509Certificate(material.cert);
    return { serial: certificate.serialNumber, validTo: certificate.validTo };
  }
}
