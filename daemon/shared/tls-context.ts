import type tls from "node:tls";
import type { TlsMaterial } from "../../protocol/hub-messages.ts";

/** The oldest TLS version served: 1.0 and 1.1 are refused whatever Node's own default is (--tls-min-v1.0). */
export const TLS_MIN_VERSION = "TLSv1.2";

/**
 * The secure context of the chat over TLS, built the same way where the primary checks a
 * certificate and where a session thread serves it, so what passed the check is what is served.
 */
export function secureContextOptions(material: TlsMaterial): tls.SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: TLS_MIN_VERSION };
}
