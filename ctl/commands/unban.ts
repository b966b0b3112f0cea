import { banTargetArgument } from "../arguments.ts";
import { type CtlCommand, printJson } from "../command.ts";

export const unban: CtlCommand = {
  command: "unban <target>",
  describe: "lift a ban, given as `tsctl bans` shows it",
  positionals: { target: { type: "string", describe: "the banned address, CIDR or name" } },
  check(args) {
    banTargetArgument(args.target, "unban");
  },
  async run(ctx, args) {
    const target = String(args.target);
    const result = await (await ctx.client()).call("bans.remove", { target });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`unbanned ${banTargetArgument(target, "unban").target}`);
  },
};
