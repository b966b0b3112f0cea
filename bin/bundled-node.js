// Plain JavaScript, for the launchers: where the Node that the package brings is.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * bundledNode returns the path of the `node` dependency's executable (node@24 from the npm
 * registry: a launcher package whose install step puts the platform's binary in its bin/), or
 * null when it is not installed. Resolved like an import, so it is found whether npm put the
 * dependency under the package or hoisted it.
 */
export function bundledNode() {
  const names = process.platform === "win32" ? ["node/bin/node.exe"] : ["node/bin/node"];
  for (const name of names) {
    try {
      return require.resolve(name);
    } catch {
      // not there: try the next, then give up
    }
  }
  return null;
}
