import { setTimeout as sleep } from "node:timers/promises";
import { type CtlCommand, printJson } from "../command.ts";
import { durationOption, formatDuration } from "../duration.ts";

/** The daemon's bound on graceMs (daemon/shared/limits.ts MAX_GRACE_MS), checked here in the option's terms. */
export const MAX_GRACE_MS = 10 * 60_000;

/** Whether a process is there: signal 0 (EPERM: it is, and is another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export const stop: CtlCommand = {
  command: "stop",
  describe: "stop the daemon gracefully and wait until it has exited",
  options: {
    grace: durationOption(
      "grace",
      "how long clients get before they are closed",
      { max: MAX_GRACE_MS },
      "5s",
    ),
    wait: {
      type: "boolean",
      default: true,
      describe: "wait until the daemon has exited (--no-wait: return once it is stopping)",
    },
  },
  async run(ctx, args) {
    const graceMs = args.grace as number;
    const client = await ctx.client();
    // The pid before the stop: afterwards nothing answers to ask.
    const pid = args.wait ? (await client.call("status")).pid : null;
    const result = await client.call("stop", { graceMs });
    if (!ctx.json) ctx.out(`stopping (clients get ${formatDuration(graceMs)})`);
    if (pid !== null) {
      // --timeout bounds the wait beyond the grace the daemon was given.
      ctx.extendTimeout(graceMs);
      while (running(pid)) await sleep(50, undefined, { signal: ctx.signal });
      if (!ctx.json) ctx.out(`stopped (pid ${pid} has exited)`);
    }
    if (ctx.json) printJson(ctx, result);
  },
};
