/**
 * The account operations a session thread asks of the hub when the accounts live in the
 * cluster (--hub redis) instead of identities.json: one `account` request, its `op` by kind.
 * Passwords never cross: the thread hashes and verifies (scrypt stays on the daemon's threads);
 * the hub stores and hands back the hash record as identities.json keeps it.
 */

/** A stored password hash record (daemon/shared/password.ts's PasswordHash). */
export interface PasswordHash {
  algo: "scrypt";
  N: number;
  r: number;
  p: number;
  keylen: number;
  salt: string;
  hash: string;
}

/** One account as stored (identities.json's record; the key is the case-folded name). */
export interface AccountRecord {
  name: string;
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
  password: PasswordHash;
  ignores?: string[];
  mustChangePassword?: boolean;
  [extra: string]: unknown;
}

export type AccountOp =
  | { op: "get"; key: string }
  | { op: "lookAlike"; key: string; skeletons: string[] }
  | { op: "register"; key: string; skeletons: string[]; record: AccountRecord }
  | { op: "setPassword"; key: string; password: PasswordHash; was?: PasswordHash }
  | { op: "setIgnored"; key: string; name: string; ignore: boolean; max: number }
  | { op: "login"; key: string; address: string; at: string }
  | { op: "rememberedName"; address: string };

/** The answer to each op: a record, a yes/no, an outcome word, or a name. */
export interface AccountResults {
  get: AccountRecord | null;
  lookAlike: boolean;
  register: "ok" | "taken";
  /** ok; gone: no such account; stale: the password is no longer `was`. */
  setPassword: "ok" | "gone" | "stale";
  setIgnored: "ok" | "unchanged" | "full" | "gone";
  login: true;
  rememberedName: string | null;
}

/** Thread -> hub: one account operation. Reply: AccountReply. */
export interface AccountRequest {
  k: "account";
  seq: number;
  call: AccountOp;
}

export interface AccountReply {
  result: AccountResults[AccountOp["op"]];
}
