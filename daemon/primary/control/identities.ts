import type { IdentitySummary } from "../../../protocol/rpc.ts";
import type { IdentityStore } from "../../shared/identity-store.ts";
import type { Log } from "../log/logger.ts";
import type { Serve } from "./control-server.ts";

/** The accounts: identities.list and identities.wipe. */
export interface IdentitiesControl {
  identitiesList(): Promise<IdentitySummary[]>;
  /** Returns how many accounts it removed. */
  identitiesWipe(): Promise<number>;
}

export function identitiesHandlers(identities: IdentitiesControl) {
  const serveIdentitiesList: Serve<"identities.list"> = () => identities.identitiesList();

  const serveIdentitiesWipe: Serve<"identities.wipe"> = async () => ({
    removed: await identities.identitiesWipe(),
  });

  return { serveIdentitiesList, serveIdentitiesWipe };
}

/** The accounts' operations over the identity store; a wipe is logged. */
/** store: identities.json, or the cluster's accounts (cluster/redis-accounts.ts). */
export function identitiesControl(store: Pick<IdentityStore, "list" | "wipe">, log: Log): IdentitiesControl {
  return {
    identitiesList: () => store.list(),
    identitiesWipe: async () => {
      const removed = await store.wipe();
      log("info", "identities wiped", { removed });
      return removed;
    },
  };
}
