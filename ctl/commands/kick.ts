import { type CtlCommand, printJson } from "../command.ts";

export const kick: CtlCommand = {
  command: "kick <name> [reason..]",
  describe: "disconnect a signed-in user",
  builder: (yargs) =>
    yargs
      .positional("name", { type: "string", demandOption: true })
      .positional("reason", { type: "string", array: true }),
  async run(ctx, args) {
    const name = String(args.name);
    const reason = ((args.reason as string[] | undefined) ?? []).join(" ") || undefined;
    const result = await (await ctx.client()).call("users.kick", { name, reason });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`kicked ${name}`);
  },
};
