import fs from "node:fs";

/** The daemon's version, from the package.json two levels up (the checkout's, or dist/'s in a build). */
export function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}
