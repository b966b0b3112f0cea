import { type CtlCommand, printJson } from "../command.ts";

function pauseCommand(method: "pause" | "resume", describe: string): CtlCommand {
  return {
    command: method,
    describe,
    async run(ctx) {
      const result = await (await ctx.client()).call(method);
      if (ctx.json) return printJson(ctx, result);
      const state = result.paused ? "paused: new connections are refused" : "listening";
      ctx.out(result.changed ? state : `already ${state}`);
    },
  };
}

export const pause = pauseCommand("pause", "close every listener; open sessions go on");
export const resume = pauseCommand(
  "resume",
  "open the listeners again on the same ports (refused, still paused, if another program took one)",
);
