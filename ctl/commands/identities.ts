import { type CtlCommand, printJson } from "../command.ts";
import { UsageError } from "../errors.ts";
import { formatTable } from "../table.ts";

export const identities: CtlCommand = {
  command: "identities <action>",
  describe: "list the accounts, or wipe them all",
  builder: (yargs) =>
    yargs
      .positional("action", { choices: ["list", "wipe"] as const, demandOption: true })
      .option("yes", { type: "boolean", default: false, describe: "wipe without asking" }),
  async run(ctx, args) {
    if (args.action === "list") {
      const list = await (await ctx.client()).call("identities.list");
      if (ctx.json) return printJson(ctx, list);
      if (list.length === 0) return ctx.out("no identities");
      ctx.out(
        formatTable(
          ["NAME", "CREATED", "LAST LOGIN", "LAST ADDRESS"],
          list.map((i) => [i.name, i.createdAt, i.lastLoginAt ?? "-", i.lastAddress ?? "-"]),
        ),
      );
      return;
    }
    if (!args.yes) {
      if (!ctx.interactive)
        throw new UsageError("identities wipe removes every account: add --yes to confirm");
      if (!(await ctx.confirm("Remove every account from the identity file? [y/N] "))) {
        ctx.err("nothing wiped");
        return;
      }
    }
    const result = await (await ctx.client()).call("identities.wipe");
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`removed ${result.removed} identit${result.removed === 1 ? "y" : "ies"}`);
  },
};
