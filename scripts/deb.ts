// npm run deb [-- --out DIR --tarball FILE --compress gzip]: builds tsd_VERSION_ARCH.deb (in the checkout, as npm pack
// leaves its tarball there) with dpkg-deb, from
// the packed tarball (npm pack, which builds dist/), the production dependencies already in this
// checkout's node_modules (the lock's versions, this platform's Node 24 build among them) and the
// maintainer scripts in scripts/deb/. No network: run `npm ci` first. Needs dpkg-deb, and dpkg-shlibdeps (dpkg-dev) for the
// Node binary's library dependencies.
//
// Layout: /usr/lib/tsd is the package as npm would install it (bin/, dist/, node_modules/ with
// node-linux-ARCH/bin/node); /usr/bin/{tsd-daemon,tsctl,tschat} exec it on that Node; the unit, logrotate
// snippet, man pages and the maintainer scripts (user tsd, group tsd-operators, enable --now).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEBIAN_FILES = path.join(ROOT, "scripts", "deb");
const PREFIX = "/usr/lib/tsd";
const COMMANDS = ["tsd-daemon", "tsctl", "tschat"] as const;
const MAN_PAGES = ["man/tsd-daemon.8", "man/tsctl.8", "man/tschat.1"];
/** This machine's Node build, as the package's optional dependency (bin/bundled-node.js) installs it. */
const NODE = `node_modules/node-linux-${process.arch}/bin/node`;
/** The shipped unit's ExecStart command, before its options. */
const EXEC_START = /^ExecStart=\S+ \S+ /m;

class DebBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DebBuildError";
  }
}

function run(file: string, args: string[], cwd = ROOT): string {
  return execFileSync(file, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

function need(tool: string, debianPackage: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    throw new DebBuildError(`${tool} is missing: apt-get install ${debianPackage}`);
  }
}

/** Debian's name for this machine's architecture. */
function debianArch(): string {
  const arch = { x64: "amd64", arm64: "arm64", arm: "armhf", ppc64: "ppc64el", s390x: "s390x" }[
    process.arch as string
  ];
  if (!arch) throw new DebBuildError(`no Debian architecture for ${process.arch}`);
  return arch;
}

/** npm's 1.2.3-rc.1 is Debian's 1.2.3~rc.1: a pre-release sorts before its release. */
function debianVersion(npmVersion: string): string {
  return npmVersion.replace("-", "~");
}

function packTarball(into: string): string {
  const out = run("npm", ["pack", "--silent", "--pack-destination", into]);
  return path.join(into, out.trim().split("\n").at(-1)!);
}

/** Production dependencies as npm ls sees them in this checkout, relative to it. */
function productionPackages(): string[] {
  const out = run("npm", ["ls", "--omit=dev", "--all", "--parseable"]);
  return out
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => path.relative(ROOT, line))
    .filter((rel) => rel.startsWith("node_modules"));
}

/**
 * Copies a package directory without its node_modules (each nested package is listed and copied
 * on its own) and without its dot files (.npmignore, .eslintrc, .gitattributes: its authors'
 * tooling, which Debian does not want installed).
 */
function copyPackage(from: string, to: string): void {
  fs.cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      if (source === from) return true;
      const name = path.basename(source);
      return name !== "node_modules" && !name.startsWith(".");
    },
  });
}

function isElf(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a file starts with #!: only scripts stay executable. */
function isScript(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head.toString() === "#!";
  } finally {
    fs.closeSync(fd);
  }
}

/** Owner-writable, world-readable; executable where it was executable and is a program (ELF or #!). */
function normalizeModes(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fs.chmodSync(full, 0o755);
      normalizeModes(full);
    } else if (entry.isFile()) {
      const program = fs.statSync(full).mode & 0o100 && (isScript(full) || isElf(full));
      fs.chmodSync(full, program ? 0o755 : 0o644);
    }
  }
}

function gzipTo(text: string | Buffer, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Level 9 and no name or time in the header (gzip -9n), as Debian wants.
  fs.writeFileSync(file, zlib.gzipSync(text, { level: 9 }));
}

function debianChangelog(version: string): string {
  const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000 || Date.now());
  const rfc2822 = date.toUTCString().replace(/GMT$/, "+0000");
  return `tsd (${version}) unstable; urgency=medium\n\n  * Built from the tsd ${version} tarball by npm run deb.\n\n -- tsd maintainers <tsd@packages.invalid>  ${rfc2822}\n`;
}

function copyright(packages: { name: string; version: string; license: string }[]): string {
  const lines = [
    "tsd: a self-hosted line-chat daemon",
    "",
    `Copyright ${new Date().getUTCFullYear()} the tsd authors.`,
    "",
    "This package also contains, unmodified, under /usr/lib/tsd/node_modules:",
    "",
    ...packages.map((p) => `  ${p.name} ${p.version}: ${p.license}`),
    "",
    `Node.js (${NODE}) is under the MIT license, with the licenses of the`,
    "libraries built into it listed at https://github.com/nodejs/node/blob/main/LICENSE.",
    "On Debian systems the MIT and ISC licenses' texts are those of each package's LICENSE",
    "file under /usr/lib/tsd/node_modules.",
    ...(packages.some((p) => /Apache-2\.0/.test(p.license))
      ? ["On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0."]
      : []),
    "",
  ];
  return lines.join("\n");
}

/** What the Node binary links against, as Depends: (dpkg-shlibdeps wants a debian/control beside it). */
function sharedLibraryDepends(stage: string, binary: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-shlibs-"));
  try {
    fs.mkdirSync(path.join(work, "debian"));
    fs.writeFileSync(
      path.join(work, "debian", "control"),
      "Source: tsd\nMaintainer: tsd\n\nPackage: tsd\nArchitecture: any\n",
    );
    const out = run("dpkg-shlibdeps", ["-O", path.join(stage, binary)], work);
    const match = /shlibs:Depends=(.*)/.exec(out);
    if (!match) throw new DebBuildError(`dpkg-shlibdeps said nothing usable: ${out}`);
    return match[1]!.trim();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function installedSizeKiB(dir: string): number {
  let bytes = 0;
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else bytes += fs.lstatSync(full).size;
    }
  };
  walk(dir);
  return Math.ceil(bytes / 1024);
}

/** dpkg-deb's compressors: xz (the default) for the smallest package, gzip to build four times faster (the tests). */
const COMPRESSORS = new Set(["xz", "gzip"]);

function build(opts: { out: string; tarball?: string; compress: string }): string {
  if (!COMPRESSORS.has(opts.compress))
    throw new DebBuildError(`--compress is xz or gzip, not ${opts.compress}`);
  need("dpkg-deb", "dpkg");
  need("dpkg-shlibdeps", "dpkg-dev");
  need("strip", "binutils");
  if (!fs.existsSync(path.join(ROOT, NODE))) throw new DebBuildError(`${NODE} is missing: run npm ci first`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-deb-"));
  try {
    const tarball = opts.tarball ? path.resolve(opts.tarball) : packTarball(work);
    const stage = path.join(work, "root");
    const lib = path.join(stage, PREFIX);
    fs.mkdirSync(path.dirname(lib), { recursive: true });
    run("tar", ["-xzf", tarball, "-C", work]);
    fs.renameSync(path.join(work, "package"), lib);
    const pkg = JSON.parse(fs.readFileSync(path.join(lib, "package.json"), "utf8")) as {
      version: string;
      description: string;
    };

    const bundled: { name: string; version: string; license: string }[] = [];
    for (const rel of productionPackages()) {
      copyPackage(path.join(ROOT, rel), path.join(lib, rel));
      const meta = JSON.parse(fs.readFileSync(path.join(ROOT, rel, "package.json"), "utf8"));
      bundled.push({
        name: meta.name,
        version: meta.version,
        license: String(meta.license ?? "see its files"),
      });
    }
    // nodejs.org's build carries its debug symbols (126 MB); Debian ships binaries stripped.
    run("strip", [
      "--strip-unneeded",
      "--remove-section=.comment",
      "--remove-section=.note",
      path.join(lib, NODE),
    ]);

    const usrBin = path.join(stage, "usr", "bin");
    fs.mkdirSync(usrBin, { recursive: true });
    for (const command of COMMANDS) {
      fs.writeFileSync(
        path.join(usrBin, command),
        `#!/bin/sh\nexec ${PREFIX}/${NODE} ${PREFIX}/bin/${command}.js "$@"\n`,
        { mode: 0o755 },
      );
    }

    const template = fs.readFileSync(path.join(lib, "systemd", "tsd.service"), "utf8");
    if (!EXEC_START.test(template)) throw new DebBuildError("the unit has no ExecStart=NODE SCRIPT ... line");
    const unit = template.replace(EXEC_START, `ExecStart=${PREFIX}/${NODE} ${PREFIX}/bin/tsd-daemon.js `);
    fs.mkdirSync(path.join(stage, "lib", "systemd", "system"), { recursive: true });
    fs.writeFileSync(path.join(stage, "lib", "systemd", "system", "tsd.service"), unit);
    fs.mkdirSync(path.join(stage, "etc", "logrotate.d"), { recursive: true });
    fs.copyFileSync(
      path.join(lib, "systemd", "tsd.logrotate"),
      path.join(stage, "etc", "logrotate.d", "tsd"),
    );

    for (const page of MAN_PAGES) {
      const section = page.slice(-1);
      gzipTo(
        fs.readFileSync(path.join(lib, page)),
        path.join(stage, "usr", "share", "man", `man${section}`, `${path.basename(page)}.gz`),
      );
    }
    const version = debianVersion(pkg.version);
    const doc = path.join(stage, "usr", "share", "doc", "tsd");
    fs.mkdirSync(doc, { recursive: true });
    fs.writeFileSync(path.join(doc, "copyright"), copyright(bundled));
    gzipTo(debianChangelog(version), path.join(doc, "changelog.gz"));
    const overrides = path.join(stage, "usr", "share", "lintian", "overrides");
    fs.mkdirSync(overrides, { recursive: true });
    fs.copyFileSync(path.join(DEBIAN_FILES, "lintian-overrides"), path.join(overrides, "tsd"));

    normalizeModes(stage);
    // The launchers run through /usr/bin or the unit, always on the bundled Node: not commands of their own.
    for (const command of COMMANDS) fs.chmodSync(path.join(lib, "bin", `${command}.js`), 0o644);
    const control = path.join(stage, "DEBIAN");
    fs.mkdirSync(control);
    for (const script of ["postinst", "prerm", "postrm"]) {
      fs.copyFileSync(path.join(DEBIAN_FILES, script), path.join(control, script));
      fs.chmodSync(path.join(control, script), 0o755);
    }
    fs.writeFileSync(path.join(control, "conffiles"), "/etc/logrotate.d/tsd\n");
    const depends = sharedLibraryDepends(stage, path.join(PREFIX.slice(1), NODE));
    const arch = debianArch();
    fs.writeFileSync(
      path.join(control, "control"),
      [
        "Package: tsd",
        `Version: ${version}`,
        `Architecture: ${arch}`,
        "Maintainer: tsd maintainers <tsd@packages.invalid>",
        `Installed-Size: ${installedSizeKiB(stage)}`,
        `Depends: ${depends}, passwd`,
        "Recommends: logrotate",
        "Section: net",
        "Priority: optional",
        "Description: self-hosted line-chat daemon (chat and echo over TCP)",
        " tsd serves an authenticated multi-user chat and an RFC 862 echo service that",
        " people reach with nc or telnet, as a hardened systemd service, with tsctl to",
        " control it and tschat to chat. It brings the Node.js it runs on.",
        "",
      ].join("\n"),
    );
    for (const script of ["postinst", "prerm", "postrm"]) fs.chmodSync(path.join(control, script), 0o755);
    fs.chmodSync(path.join(control, "control"), 0o644);
    fs.chmodSync(path.join(control, "conffiles"), 0o644);

    fs.mkdirSync(opts.out, { recursive: true });
    const deb = path.join(path.resolve(opts.out), `tsd_${version}_${arch}.deb`);
    run("dpkg-deb", ["--root-owner-group", `-Z${opts.compress}`, "--build", stage, deb]);
    return deb;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    out: { type: "string", default: ROOT },
    tarball: { type: "string" },
    compress: { type: "string", default: "xz" },
  },
});
try {
  const deb = build({ out: values.out!, tarball: values.tarball, compress: values.compress! });
  console.log(`deb: ${deb}`);
} catch (error) {
  if (!(error instanceof DebBuildError)) throw error;
  console.error(`deb: ${error.message}`);
  process.exit(1);
}
