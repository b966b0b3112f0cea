import { type CtlCommand, printJson } from "../command.ts";
import { UsageError } from "../errors.ts";

export const announce: CtlCommand = {
  command: "announce <text..>",
  describe: "send a notice to every signed-in user",
  builder: (yargs) => yargs.positional("text", { type: "string", array: true, demandOption: true }),
  async run(ctx, args) {
    const text = (args.text as string[]).join(" ");
    if (text.trim() === "") throw new UsageError("announce needs some text");
    const result = await (await ctx.client()).call("chat.announce", { text });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`announced to ${result.delivered} user${result.delivered === 1 ? "" : "s"}`);
  },
};
