import { nameArgument } from "../arguments.ts";
import { type CtlCommand, printJson, restText } from "../command.ts";

export const kick: CtlCommand = {
  command: "kick <name> [reason..]",
  describe: "disconnect a signed-in user",
  positionals: {
    name: { type: "string", describe: "who" },
    reason: { type: "string", array: true, describe: "why, shown to the user" },
  },
  check(args) {
    nameArgument(args.name, "kick");
  },
  async run(ctx, args) {
    const name = String(args.name);
    const result = await (await ctx.client()).call("users.kick", { name, reason: restText(args.reason) });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`kicked ${name}`);
  },
};
