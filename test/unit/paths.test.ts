import test from "ava";
import { resolveLogDir, resolveSocketPath, resolveStateDir, WINDOWS_PIPE } from "../../protocol/paths.ts";

const base = { uid: 1000, home: "/home/u", platform: "linux" as NodeJS.Platform };

test("paths - the socket resolves flag, TSD_SOCKET, RUNTIME_DIRECTORY, XDG_RUNTIME_DIR, /tmp in that order", (t) => {
  const env = { TSD_SOCKET: "/e.sock", RUNTIME_DIRECTORY: "/run/tsd", XDG_RUNTIME_DIR: "/run/user/1000" };
  t.is(resolveSocketPath("/flag.sock", { ...base, env }), "/flag.sock");
  t.is(resolveSocketPath(undefined, { ...base, env }), "/e.sock");
  t.is(
    resolveSocketPath(undefined, { ...base, env: { ...env, TSD_SOCKET: undefined } }),
    "/run/tsd/control.sock",
  );
  t.is(
    resolveSocketPath(undefined, { ...base, env: { XDG_RUNTIME_DIR: "/run/user/1000" } }),
    "/run/user/1000/tsd/control.sock",
  );
  t.is(resolveSocketPath(undefined, { ...base, env: {} }), "/tmp/tsd-1000/control.sock");
  t.is(resolveSocketPath(undefined, { ...base, platform: "win32", env: {} }), WINDOWS_PIPE);
});

test("paths - state and log directories follow control.md", (t) => {
  t.is(resolveStateDir("/s", { ...base, env: { STATE_DIRECTORY: "/var/lib/tsd" } }), "/s");
  t.is(
    resolveStateDir(undefined, { ...base, env: { STATE_DIRECTORY: "/var/lib/tsd:/other" } }),
    "/var/lib/tsd",
  );
  t.is(resolveStateDir(undefined, { ...base, env: { XDG_STATE_HOME: "/x" } }), "/x/tsd");
  t.is(resolveStateDir(undefined, { ...base, env: {} }), "/home/u/.local/state/tsd");
  t.is(resolveLogDir("/l", "/s", { ...base, env: { LOGS_DIRECTORY: "/var/log/tsd" } }), "/l");
  t.is(resolveLogDir(undefined, "/s", { ...base, env: { LOGS_DIRECTORY: "/var/log/tsd" } }), "/var/log/tsd");
  t.is(resolveLogDir(undefined, "/s", { ...base, env: {} }), "/s");
});
