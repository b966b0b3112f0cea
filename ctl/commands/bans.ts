import { type CtlCommand, printJson } from "../command.ts";
import { formatTable } from "../table.ts";

export const bans: CtlCommand = {
  command: "bans",
  describe: "list the bans in force",
  async run(ctx) {
    const list = await (await ctx.client()).call("bans.list");
    if (ctx.json) return printJson(ctx, list);
    if (list.length === 0) return ctx.out("no bans");
    ctx.out(
      formatTable(
        ["TARGET", "UNTIL", "CREATED", "REASON"],
        list.map((b) => [b.target, b.until ?? "permanent", b.createdAt, b.reason ?? ""]),
      ),
    );
  },
};
