import { type CtlCommand, printJson } from "../command.ts";
import { durationOption, formatDuration } from "../duration.ts";

/** The daemon's bound on graceMs (daemon/shared/limits.ts MAX_GRACE_MS), checked here in the option's terms. */
export const MAX_GRACE_MS = 10 * 60_000;

export const stop: CtlCommand = {
  command: "stop",
  describe: "stop the daemon gracefully",
  options: {
    grace: durationOption(
      "grace",
      "how long clients get before they are closed",
      { max: MAX_GRACE_MS },
      "5s",
    ),
  },
  async run(ctx, args) {
    const graceMs = args.grace as number;
    const client = await ctx.client();
    const result = await client.call("stop", { graceMs });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`stopping (clients get ${formatDuration(graceMs)})`);
  },
};
