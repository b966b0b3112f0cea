import { type CtlCommand, printJson } from "../command.ts";
import { formatTable } from "../table.ts";

export const who: CtlCommand = {
  command: "who",
  describe: "list the users signed in now",
  async run(ctx) {
    const users = await (await ctx.client()).call("users.list");
    if (ctx.json) return printJson(ctx, users);
    if (users.length === 0) return ctx.out("nobody online");
    // In a cluster (docs/cluster.md) each user has the node that holds them: a NODE column.
    const clustered = users.some((u) => u.node !== undefined);
    ctx.out(
      formatTable(
        ["NAME", ...(clustered ? ["NODE"] : []), "ADDRESS", "SINCE", "WORKER", "THREAD", "AWAY"],
        users.map((u) => [
          u.name,
          ...(clustered ? [u.node ?? ""] : []),
          u.address,
          u.since,
          String(u.worker),
          String(u.thread),
          u.away ?? "",
        ]),
      ),
    );
  },
};
