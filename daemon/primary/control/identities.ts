import type { IdentitySummary } from "../../../protocol/rpc.ts";
import type { IdentityStore } from "../../shared/identity-store.ts";
import type { Log } from "../log/logger.ts";
import type { Serve } from "./control-server.ts";
import { askedBy } from "./moderation.ts";

/** The accounts: identities.list and identities.wipe. */
export interface IdentitiesControl {
  identitiesList(): Promise<IdentitySummary[]>;
  /** Returns how many accounts it removed; `by` names who asked, for the log. */
  identitiesWipe(by: Promise<string>): Promise<number>;
}

export function identitiesHandlers(identities: IdentitiesControl) {
  const serveIdentitiesList: Serve<"identities.list"> = () => identities.identitiesList();

  const serveIdentitiesWipe: Serve<"identities.wipe"> = async (_params, conn) => ({
    removed: await identities.identitiesWipe(askedBy(conn)),
  });

  return { serveIdentitiesList, serveIdentitiesWipe };
}

/** The accounts' operations over the identity store; a wipe is logged. */
/** store: identities.json, or the cluster's accounts (cluster/redis-accounts.ts). */
export function identitiesControl(store: Pick<IdentityStore, "list" | "wipe">, log: Log): IdentitiesControl {
  return {
    identitiesList: () => store.list(),
    identitiesWipe: async (by) => {
      const removed = await store.wipe();
      log("info", "identities wiped", { removed, by: await by });
      return removed;
    },
  };
}
