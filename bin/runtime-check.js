// Plain JavaScript on purpose: it must run, and explain itself, on a Node too old to load TypeScript.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12) || !process.features.typescript) {
  console.error(
    `${process.argv0}: tsd needs Node.js 22.12 or newer with type stripping (this is ${process.version}); run it through npm (npm start, npx tsd-daemon), which uses the project's own Node 24.`,
  );
  process.exit(1);
}
