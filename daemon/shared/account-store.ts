import type { IdentityStore } from "./identity-store.ts";

/**
 * AccountStore is what a session thread asks of the accounts: IdentityStore over identities.json
 * on one daemon, HubAccounts (thread/hub-accounts.ts) over the hub when the accounts are the
 * cluster's. Both hash and verify passwords on the thread itself.
 */
export type AccountStore = Pick<
  IdentityStore,
  | "get"
  | "nameConflict"
  | "register"
  | "verify"
  | "recordLogin"
  | "flush"
  | "setPassword"
  | "replaceOneTimePassword"
  | "setIgnored"
  | "rememberedName"
>;

/** The cluster's accounts cannot be reached now (Redis is away): the user is told to try again later. */
export class AccountsUnreachable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AccountsUnreachable";
  }
}
