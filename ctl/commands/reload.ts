import { type CtlCommand, printJson } from "../command.ts";

export const reload: CtlCommand = {
  command: "reload",
  describe:
    "re-read the config file's live options, the TLS material and the MOTD; reopen the log (as SIGHUP)",
  async run(ctx) {
    const result = await (await ctx.client()).call("reload");
    if (ctx.json) return printJson(ctx, result);
    ctx.out(`reloaded: ${result.reloaded.join(", ") || "nothing"}`);
    // The operator who edited the file should see at once what the reload did not take.
    if (result.waitingForRestart?.length)
      ctx.out(
        `not changed until a restart: ${result.waitingForRestart.join(", ")} (the config file differs from the value in force)`,
      );
  },
};
