import { execFile } from "node:child_process";

/**
 * Tells systemd that the daemon is ready (systemd/tsd.service is Type=notify): call it once
 * every listener is bound and the control socket answers. Node has no datagram Unix
 * sockets for sd_notify(3), so this runs `systemd-notify --ready --pid=<this pid>`; the
 * message then comes from a child process, which the unit allows with NotifyAccess=all.
 * Outside systemd ($NOTIFY_SOCKET unset) it does nothing. It never throws: a failure is
 * only reported through onError (systemd then fails the start after TimeoutStartSec).
 */
export function notifyReady(onError?: (error: Error) => void): void {
  if (!process.env.NOTIFY_SOCKET) return;
  try {
    const child = execFile(
      "systemd-notify",
      ["--ready", `--pid=${process.pid}`],
      { timeout: 10_000 },
      (error) => {
        if (error) onError?.(error);
      },
    );
    child.unref();
  } catch (error) {
    onError?.(error as Error);
  }
}
