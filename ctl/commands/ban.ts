import { banTargetArgument } from "../arguments.ts";
import { type CtlCommand, plural, printJson, restText } from "../command.ts";
import { durationOption, formatDuration } from "../duration.ts";

/** The longest --for of ban and mute (a permanent one needs no --for). */
export const MAX_MODERATION_MS = 10 * 365 * 86_400_000;

export const ban: CtlCommand = {
  command: "ban <target> [reason..]",
  describe: "ban an address, a CIDR or a name (disconnects who matches)",
  positionals: {
    target: {
      type: "string",
      describe:
        "an address, a CIDR (10.0.0.0/8, 2001:db8::/32) or a name (name:42 for a name that looks like an address)",
    },
    reason: { type: "string", array: true, describe: "why, shown to the banned" },
  },
  options: {
    for: durationOption("for", "how long the ban lasts (default: until unban)", {
      min: 1000,
      max: MAX_MODERATION_MS,
    }),
  },
  check(args) {
    banTargetArgument(args.target, "ban");
  },
  async run(ctx, args) {
    const target = String(args.target);
    const forMs = args.for as number | undefined;
    const result = await (await ctx.client()).call("bans.add", {
      target,
      reason: restText(args.reason),
      forSeconds: forMs === undefined ? undefined : Math.ceil(forMs / 1000),
    });
    if (ctx.json) return printJson(ctx, result);
    const until = forMs === undefined ? "until unbanned" : `for ${formatDuration(forMs)}`;
    // As the ban is kept and listed: `ban 10.1.2.3/8` bans all of 10.0.0.0/8, which the operator should see.
    const banned = banTargetArgument(target, "ban").target;
    ctx.out(`banned ${banned} ${until}; disconnected ${plural(result.disconnected, "session")}`);
  },
};
