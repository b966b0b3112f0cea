/**
 * The URL of the entry file at `path` (relative, no extension) from the module at `base` (its
 * import.meta.url), with base's own extension: `.ts` when run from the sources, `.js` when
 * run from the build in dist/ (tsc rewrites import specifiers, but not the strings given to
 * `new Worker` or `cluster.setupPrimary`).
 */
export function entryFile(path: string, base: string): URL {
  const ext = new URL(base).pathname.endsWith(".js") ? ".js" : ".ts";
  return new URL(`${path}${ext}`, base);
}
