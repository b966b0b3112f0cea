import { execFile } from "node:child_process";
import { STATUS_INTERVAL_MS } from "../shared/limits.ts";

/**
 * Sends one message to systemd. Node has no datagram Unix sockets for sd_notify(3), so this
 * runs `systemd-notify`; the message then comes from a child process, which the unit allows
 * with NotifyAccess=all. By default systemd-notify waits until systemd has taken the message,
 * so the child is still alive when systemd asks which unit it belongs to.
 */
function notify(args: string[], done: (error: Error | null) => void): void {
  try {
    const child = execFile("systemd-notify", args, { timeout: 10_000 }, (error) => done(error));
    child.unref();
  } catch (error) {
    done(error as Error);
  }
}

/**
 * Tells systemd that the daemon is ready (systemd/tsd.service is Type=notify): call it once
 * every listener is bound and the control socket answers. Outside systemd ($NOTIFY_SOCKET
 * unset) it does nothing. It never throws: a failure is only reported through onError
 * (systemd then fails the start after TimeoutStartSec).
 */
export function notifyReady(onError?: (error: Error) => void): void {
  if (!process.env.NOTIFY_SOCKET) return;
  notify(["--ready", `--pid=${process.pid}`], (error) => {
    if (error) onError?.(error);
  });
}

/** What `systemctl status tsd` shows on its Status: line. */
export interface ServiceStatus {
  /** "chat=127.0.0.1:4040" for each service. */
  addresses: string[];
  paused: boolean;
  usersOnline: number;
}

export function statusText({ addresses, paused, usersOnline }: ServiceStatus): string {
  const users = `${usersOnline} ${usersOnline === 1 ? "user" : "users"} online`;
  const services = addresses.length > 0 ? addresses.join(" ") : "no service";
  return paused ? `paused, listeners closed (${services}); ${users}` : `listening ${services}; ${users}`;
}

/**
 * StatusReporter keeps systemd's status text (STATUS=, `systemctl status tsd`) up to date:
 * each second it reads the text and sends it when it changed, so a burst of sign-ins costs one
 * systemd-notify a second at most, and a quiet daemon none. One message is in flight at a time.
 * Outside systemd it does nothing.
 */
export class StatusReporter {
  private readonly current: () => string;
  private readonly onError: (error: Error) => void;
  private sent: string | null = null;
  private sending = false;
  private failedBefore = false;
  private timer: NodeJS.Timeout | null = null;

  /** onError hears of the first failure only: the text would go on failing each second. */
  constructor(current: () => string, onError: (error: Error) => void) {
    this.current = current;
    this.onError = onError;
  }

  start(): void {
    if (!process.env.NOTIFY_SOCKET || this.timer) return;
    this.update();
    this.timer = setInterval(() => this.update(), STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private update(): void {
    if (this.sending) return;
    const text = this.current();
    if (text === this.sent) return;
    this.sending = true;
    notify([`--pid=${process.pid}`, `--status=${text}`], (error) => {
      this.sending = false;
      if (!error) {
        this.sent = text;
      } else if (!this.failedBefore) {
        this.failedBefore = true;
        this.onError(error);
      }
    });
  }
}
