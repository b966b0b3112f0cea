import type { ConfigValues } from "../../protocol/rpc.ts";
import { type CtlCommand, printJson } from "../command.ts";
import { UsageError } from "../errors.ts";
import { formatTable } from "../table.ts";

/** One option's value as a person reads it. */
function shown(value: ConfigValues[string] | undefined): string {
  if (value === null || value === undefined) return "-";
  return Array.isArray(value) ? value.join(",") : String(value);
}

/** What VALUE sends: a plain number as a number (the live options are numbers), any other text as it is. */
export function configValue(text: string): string | number {
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

export const config: CtlCommand = {
  command: "config <action> [key] [value]",
  describe: "show the options in force (get [KEY]), or change a live one (set KEY VALUE)",
  positionals: {
    action: { choices: ["get", "set"] as const, describe: "get or set" },
    key: { type: "string", describe: "an option's name as on tsd-daemon's command line, e.g. flood-rate" },
    value: { type: "string", describe: "the new value (set)" },
  },
  check(args) {
    if (args.action === "get" && args.value !== undefined)
      throw new UsageError(`config get takes one KEY at most, not "${args.value}" too`);
    if (args.action === "set" && (args.key === undefined || args.value === undefined))
      throw new UsageError("config set needs a KEY and a VALUE, e.g. config set flood-rate 10");
  },
  async run(ctx, args) {
    const client = await ctx.client();
    const key = args.key === undefined ? undefined : String(args.key);
    if (args.action === "get") {
      const values = await client.call("config.get", key === undefined ? {} : { key });
      if (ctx.json) return printJson(ctx, values);
      if (key !== undefined) return ctx.out(shown(values[key]));
      const keys = Object.keys(values).sort();
      return ctx.out(
        formatTable(
          ["OPTION", "VALUE"],
          keys.map((k) => [k, shown(values[k])]),
        ),
      );
    }
    const result = await client.call("config.set", { key, value: configValue(String(args.value)) });
    if (ctx.json) return printJson(ctx, result);
    ctx.out(`${result.key}: ${shown(result.previous)} -> ${shown(result.value)}`);
  },
};
