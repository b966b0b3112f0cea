import { type CtlCommand, printJson } from "../command.ts";
import { parseDuration } from "../duration.ts";

export const stop: CtlCommand = {
  command: "stop",
  describe: "stop the daemon gracefully",
  builder: (yargs) =>
    yargs.option("grace", {
      type: "string",
      default: "5s",
      describe: "how long clients get before they are closed",
    }),
  async run(ctx, args) {
    const graceMs = parseDuration(String(args.grace), "--grace");
    const client = await ctx.client();
    const result = await client.call("stop", { graceMs });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`stopping (clients get ${graceMs / 1000} s)`);
  },
};
