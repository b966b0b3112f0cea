import { type CtlCommand, printJson } from "../command.ts";
import { formatTable } from "../table.ts";

export const who: CtlCommand = {
  command: "who",
  describe: "list the users signed in now",
  async run(ctx) {
    const users = await (await ctx.client()).call("users.list");
    if (ctx.json) return printJson(ctx, users);
    if (users.length === 0) return ctx.out("nobody online");
    ctx.out(
      formatTable(
        ["NAME", "ADDRESS", "SINCE", "WORKER", "THREAD", "AWAY"],
        users.map((u) => [u.name, u.address, u.since, String(u.worker), String(u.thread), u.away ?? ""]),
      ),
    );
  },
};
