import { type CtlCommand, printJson } from "../command.ts";

export const reload: CtlCommand = {
  command: "reload",
  describe:
    "re-read the config file's live options, the TLS material and the MOTD; reopen the log (as SIGHUP)",
  async run(ctx) {
    const result = await (await ctx.client()).call("reload");
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`reloaded: ${result.reloaded.join(", ") || "nothing"}`);
  },
};
