import { nameArgument } from "../arguments.ts";
import { type CtlCommand, printJson } from "../command.ts";
import { UsageError } from "../errors.ts";
import { formatTable } from "../table.ts";
import type { CtlContext } from "../command.ts";

const ACTIONS = ["list", "wipe", "remove", "reset"] as const;
type Action = (typeof ACTIONS)[number];
/** The actions that name one account. */
const NAMED: ReadonlySet<Action> = new Set(["remove", "reset"]);
/** The actions that destroy accounts, so ask first on a terminal, or need --yes without one. */
const CONFIRMED: ReadonlySet<Action> = new Set(["wipe", "remove"]);

/** True when the action may go ahead: --yes, or a person said yes; without a terminal, bad usage. */
async function confirmed(ctx: CtlContext, yes: boolean, what: string, question: string): Promise<boolean> {
  if (yes) return true;
  if (!ctx.interactive) throw new UsageError(`${what}: add --yes to confirm`);
  return ctx.confirm(question);
}

export const identities: CtlCommand = {
  command: "identities <action> [name]",
  describe: "list the accounts, wipe them all, remove one, or reset one's password",
  positionals: {
    action: { choices: ACTIONS, describe: "list, wipe, remove NAME or reset NAME" },
    name: { type: "string", describe: "the account (remove, reset)" },
  },
  options: {
    yes: { type: "boolean", default: false, describe: "wipe or remove without asking" },
  },
  check(args) {
    const action = args.action as Action;
    if (NAMED.has(action) && (args.name === undefined || String(args.name).trim() === ""))
      throw new UsageError(`identities ${action} needs the account's NAME`);
    if (NAMED.has(action)) nameArgument(args.name, `identities ${action}`);
    if (!NAMED.has(action) && args.name !== undefined)
      throw new UsageError(`identities ${action} takes no NAME (got "${args.name}")`);
    if (args.yes && !CONFIRMED.has(action))
      throw new UsageError(`--yes goes with identities wipe or remove, not ${action}`);
  },
  async run(ctx, args) {
    const action = args.action as Action;
    const name = String(args.name);
    const yes = Boolean(args.yes);
    if (action === "list") {
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
    if (action === "reset") {
      const result = await (await ctx.client()).call("identities.reset", { name });
      if (ctx.json) return printJson(ctx, result);
      ctx.out(`one-time password for ${result.name}: ${result.oneTimePassword}`);
      ctx.err(`(good for one sign-in, which then asks ${result.name} for a new password)`);
      return;
    }
    if (action === "remove") {
      const go = await confirmed(
        ctx,
        yes,
        `identities remove deletes the account ${name}`,
        `Remove the account ${name} (and disconnect it if online)? [y/N] `,
      );
      if (!go) return ctx.err("nothing removed");
      const result = await (await ctx.client()).call("identities.remove", { name });
      if (ctx.json) return printJson(ctx, result);
      return ctx.out(`removed ${name}`);
    }
    const go = await confirmed(
      ctx,
      yes,
      "identities wipe removes every account",
      "Remove every account from the identity file? [y/N] ",
    );
    if (!go) return ctx.err("nothing wiped");
    const result = await (await ctx.client()).call("identities.wipe");
    if (ctx.json) printJson(ctx, result);
    else ctx.out(`removed ${result.removed} identit${result.removed === 1 ? "y" : "ies"}`);
  },
};
