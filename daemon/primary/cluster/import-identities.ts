import fs from "node:fs";
import type { AccountRecord } from "../../../protocol/account-messages.ts";
import { parseIdentityFile } from "../../shared/identities/identity-file.ts";
import { StartupError } from "../startup-error.ts";
import { ClusterKeys } from "./cluster-keys.ts";
import type { ClusterSettings } from "./open-cluster.ts";
import { RedisAccounts } from "./redis-accounts.ts";
import { RedisLink } from "./redis-link.ts";

/**
 * `tsd-daemon --hub redis --import-identities FILE`: copies the accounts of a daemon's
 * identities.json into the cluster's, hash records as they are (never re-hashed, never printed).
 * A name the cluster already has (or a look-alike of one) is kept as the cluster has it, and
 * named in the report. Returns the report's lines.
 */
export async function importIdentities(file: string, cluster: ClusterSettings): Promise<string[]> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new StartupError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const parsed = parseIdentityFile(text);
  if ("problem" in parsed) throw new StartupError(`${file} ${parsed.problem}; nothing imported`);
  const redis = await RedisLink.connect({
    url: cluster.redisUrl,
    connectTimeoutMs: cluster.connectTimeoutMs,
    name: "tsd-import",
    log: () => {},
  }).catch((error: Error) => {
    throw new StartupError(error.message, { cause: error });
  });
  try {
    const accounts = new RedisAccounts(redis, new ClusterKeys(cluster.name));
    const report = await accounts.import(parsed.users as ReadonlyMap<string, AccountRecord>);
    const lines = [
      `imported ${report.imported} of ${parsed.users.size} accounts from ${file} into the cluster ${cluster.name} at ${redis.url}`,
    ];
    if (report.kept.length > 0)
      lines.push(`kept as the cluster has them (already there): ${report.kept.join(", ")}`);
    return lines;
  } finally {
    redis.close();
  }
}
