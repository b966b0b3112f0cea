import { nameSkeletons } from "../../../protocol/names.ts";
import type { StoredUser } from "./identity-file.ts";

type Users = ReadonlyMap<string, StoredUser>;

/**
 * AddressIndex answers "who signed in last from this address" (the name a returning client is
 * offered). It is built once per version of the file, on first use.
 */
export class AddressIndex {
  readonly #indexes = new WeakMap<Users, Map<string, { name: string; at: string }>>();

  nameAt(users: Users, address: string): string | undefined {
    let index = this.#indexes.get(users);
    if (!index) {
      index = new Map();
      for (const user of users.values()) {
        if (user.lastAddress === null) continue;
        // Registering counts as signing in (lastAddress is set then, lastLoginAt not yet).
        const at = user.lastLoginAt ?? user.createdAt;
        const seen = index.get(user.lastAddress);
        if (!seen || Date.parse(at) > Date.parse(seen.at))
          index.set(user.lastAddress, { name: user.name, at });
      }
      this.#indexes.set(users, index);
    }
    return index.get(address)?.name;
  }
}

/**
 * LookAlikeIndex maps each look-alike form (nameSkeletons) of the account names to the
 * account's key, built once per version of the file. An account name's forms are kept across
 * versions, so a new version costs look-ups, not skeletons.
 */
export class LookAlikeIndex {
  readonly #indexes = new WeakMap<Users, Map<string, string>>();
  #skeletons = new Map<string, string[]>();

  /** Whether any of a candidate's skeletons (from checkName) belongs to an account other than key. */
  looksLikeAnother(users: Users, key: string, skeletons: readonly string[]): boolean {
    const index = this.#index(users);
    return skeletons.some((form) => {
      const owner = index.get(form);
      return owner !== undefined && owner !== key;
    });
  }

  #index(users: Users): Map<string, string> {
    const known = this.#indexes.get(users);
    if (known) return known;
    const index = new Map<string, string>();
    const memo = new Map<string, string[]>();
    for (const [key, user] of users) {
      const forms = this.#skeletons.get(user.name) ?? nameSkeletons(user.name);
      memo.set(user.name, forms);
      for (const form of forms) if (!index.has(form)) index.set(form, key);
    }
    this.#skeletons = memo;
    this.#indexes.set(users, index);
    return index;
  }
}
