import { nameArgument } from "../arguments.ts";
import { type CtlCommand, printJson } from "../command.ts";
import { durationOption } from "../duration.ts";
import { MAX_MODERATION_MS } from "./ban.ts";

export const mute: CtlCommand = {
  command: "mute <name>",
  describe: "keep a user from talking (chat, /me, /msg) until unmuted or --for runs out",
  positionals: { name: { type: "string", describe: "the account's name" } },
  options: {
    for: durationOption("for", "how long the mute lasts (default: until unmute)", {
      min: 1000,
      max: MAX_MODERATION_MS,
    }),
  },
  check(args) {
    nameArgument(args.name, "mute");
  },
  async run(ctx, args) {
    const name = String(args.name);
    const forMs = args.for as number | undefined;
    const result = await (await ctx.client()).call("users.mute", {
      name,
      forSeconds: forMs === undefined ? undefined : Math.ceil(forMs / 1000),
    });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`muted ${name} ${result.until ? `until ${result.until}` : "until unmuted"}`);
  },
};

export const unmute: CtlCommand = {
  command: "unmute <name>",
  describe: "let a muted user talk again",
  positionals: { name: { type: "string", describe: "the account's name" } },
  check(args) {
    nameArgument(args.name, "unmute");
  },
  async run(ctx, args) {
    const name = String(args.name);
    const result = await (await ctx.client()).call("users.unmute", { name });
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`unmuted ${name}`);
  },
};
