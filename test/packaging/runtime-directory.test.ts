import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { startDaemon, tempDir, tsctl } from "../helpers/daemon.ts";

// systemd makes $RUNTIME_DIRECTORY with the unit's RuntimeDirectoryMode and owner. Had the
// daemon changed its group (--socket-group), systemd would give the whole tree back to
// User:Group before the next command it runs for the unit, `systemctl reload` included: the
// socket would lose its group and the operators their tsctl (seen under systemd 252 by
// scripts/systemd-check.sh). So the daemon leaves that directory alone and sets only the socket.

const OTHER_GROUP = 1; // "daemon" on Debian: a group the directory does not have

const needsRoot = process.platform === "win32" || process.getuid?.() !== 0;
if (needsRoot) console.warn("runtime directory: skipped: giving a socket to another group needs root here");
const rootTest = needsRoot ? test.skip : test;

rootTest(
  "runtime directory - the daemon leaves $RUNTIME_DIRECTORY as systemd made it and gives only the socket its group",
  async (t) => {
    const dir = tempDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runtime = path.join(dir, "runtime");
    fs.mkdirSync(runtime, { mode: 0o711 });
    fs.chmodSync(runtime, 0o711);
    const before = fs.statSync(runtime);
    const socket = path.join(runtime, "control.sock");

    const daemon = await startDaemon(
      [
        "--no-chat",
        "--workers",
        "1",
        "--threads",
        "1",
        "--socket",
        socket,
        "--socket-group",
        String(OTHER_GROUP),
      ],
      { dir, env: { ...process.env, RUNTIME_DIRECTORY: runtime } },
    );
    t.teardown(() => daemon.cleanup());

    const after = fs.statSync(runtime);
    t.is(after.mode & 0o7777, 0o711, "the directory keeps systemd's mode");
    t.is(after.gid, before.gid, "the directory keeps systemd's group");
    const sock = fs.statSync(socket);
    t.is(sock.gid, OTHER_GROUP, "the socket has the --socket-group");
    t.is(sock.mode & 0o777, 0o660);
    const status = await tsctl(["--socket", socket, "status"]);
    t.is(status.code, 0, status.stderr);
  },
);
