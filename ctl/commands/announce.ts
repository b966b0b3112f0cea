import { type CtlCommand, plural, printJson, restText } from "../command.ts";
import { UsageError } from "../errors.ts";

export const announce: CtlCommand = {
  command: "announce <text..>",
  describe: "send a notice to every signed-in user",
  positionals: { text: { type: "string", array: true, describe: "the notice" } },
  check(args) {
    if ((restText(args.text) ?? "").trim() === "") throw new UsageError("announce needs some text");
  },
  async run(ctx, args) {
    const result = await (await ctx.client()).call("chat.announce", { text: restText(args.text) });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`announced to ${plural(result.delivered, "user")}`);
  },
};
