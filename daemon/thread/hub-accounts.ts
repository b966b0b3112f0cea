import type { AccountOp, AccountRecord, AccountResults } from "../../protocol/account-messages.ts";
import { nameSkeletons, ReservedNames, type NameConflict } from "../../protocol/names.ts";
import { type AccountStore, AccountsUnreachable } from "../shared/account-store.ts";
import type { Identity, IgnoreChange } from "../shared/identity-store.ts";
import { MAX_IGNORES } from "../shared/limits.ts";
import {
  hashPassword,
  type PasswordHash,
  SCRYPT_DEFAULTS,
  type ScryptParams,
  verifyPassword,
} from "../shared/password.ts";
import { type HubLink, HubRequestFailed } from "./hub-link.ts";

function toIdentity(key: string, record: AccountRecord): Identity {
  return {
    name: record.name,
    key,
    createdAt: record.createdAt,
    lastLoginAt: record.lastLoginAt,
    lastAddress: record.lastAddress,
    password: { ...record.password },
    ignores: Array.isArray(record.ignores) ? record.ignores.slice(0, MAX_IGNORES) : [],
    mustChangePassword: record.mustChangePassword === true,
  };
}

/**
 * HubAccounts is the accounts of a cluster as a session thread sees them: every read and change
 * is an `account` request to the hub in the primary, which alone talks to Redis. scrypt runs
 * here, on the thread, as with identities.json: only hash records cross the link.
 */
export class HubAccounts implements AccountStore {
  readonly #hub: HubLink;
  readonly #reserved: ReservedNames;
  readonly #scrypt: ScryptParams = { ...SCRYPT_DEFAULTS };
  #dummy: Promise<PasswordHash> | null = null;

  constructor(hub: HubLink, reservedNames: readonly string[]) {
    this.#hub = hub;
    this.#reserved = new ReservedNames(reservedNames);
  }

  async #ask<O extends AccountOp>(call: O): Promise<AccountResults[O["op"]]> {
    try {
      const reply = await this.#hub.request({ k: "account", call });
      return reply.result as AccountResults[O["op"]];
    } catch (error) {
      if (error instanceof HubRequestFailed) throw new AccountsUnreachable(error.message, { cause: error });
      throw error;
    }
  }

  async get(key: string): Promise<Identity | undefined> {
    const record = await this.#ask({ op: "get", key });
    return record ? toIdentity(key, record) : undefined;
  }

  async nameConflict(key: string, skeletons: readonly string[]): Promise<NameConflict | undefined> {
    if (this.#reserved.has(key, skeletons)) return "reserved";
    return (await this.#ask({ op: "lookAlike", key, skeletons: [...skeletons] })) ? "look-alike" : undefined;
  }

  async register(name: string, key: string, password: string, address: string): Promise<"ok" | "taken"> {
    const skeletons = nameSkeletons(name);
    if (this.#reserved.has(key, skeletons)) return "taken";
    const hash = await hashPassword(password, this.#scrypt);
    const record: AccountRecord = {
      name,
      createdAt: new Date().toISOString(),
      lastLoginAt: null,
      lastAddress: address,
      password: hash,
    };
    return this.#ask({ op: "register", key, skeletons, record });
  }

  async verify(key: string, password: string): Promise<Identity | null> {
    const identity = await this.get(key);
    if (!identity) {
      // The same time as a real check, so timing does not tell which names exist.
      this.#dummy ??= hashPassword("", this.#scrypt);
      await verifyPassword(password, await this.#dummy);
      return null;
    }
    return (await verifyPassword(password, identity.password)) ? identity : null;
  }

  async recordLogin(key: string, address: string): Promise<void> {
    await this.#ask({ op: "login", key, address, at: new Date().toISOString() });
  }

  /** Sign-ins are recorded as they happen: nothing waits. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  async setPassword(key: string, password: string): Promise<boolean> {
    const hash = await hashPassword(password, this.#scrypt);
    return (await this.#ask({ op: "setPassword", key, password: hash })) === "ok";
  }

  async replaceOneTimePassword(
    key: string,
    was: PasswordHash,
    password: string,
  ): Promise<"ok" | "gone" | "stale"> {
    const hash = await hashPassword(password, this.#scrypt);
    return this.#ask({ op: "setPassword", key, password: hash, was });
  }

  setIgnored(key: string, name: string, ignore: boolean): Promise<IgnoreChange> {
    return this.#ask({ op: "setIgnored", key, name, ignore, max: MAX_IGNORES });
  }

  async rememberedName(address: string): Promise<string | undefined> {
    return (await this.#ask({ op: "rememberedName", address })) ?? undefined;
  }
}
