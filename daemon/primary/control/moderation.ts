import { JSONRPCErrorException } from "json-rpc-2.0";
import {
  AddressBanList,
  BadBanTarget,
  type BanTarget,
  parseBanTarget,
} from "../../../protocol/ban-target.ts";
import { ACCOUNT_REMOVED, kickedLine } from "../../../protocol/chat-lines.ts";
import { checkName } from "../../../protocol/names.ts";
import { type BanEntry, RpcErrorCode } from "../../../protocol/rpc.ts";
import { sanitize } from "../../../protocol/text.ts";
import { oneTimePassword } from "../../shared/identities/one-time-password.ts";
import type { IdentityStore } from "../../shared/identity-store.ts";
import { MAX_BAN_REASON, MAX_MODERATION_SECONDS } from "../../shared/limits.ts";
import type { ChatHub } from "../hub/chat-hub.ts";
import { type BansAndMutes, ModerationListFull } from "../hub/moderation.ts";
import type { Log } from "../log/logger.ts";
import type { ControlConnection, Serve } from "./control-server.ts";
import { UNKNOWN_PEER } from "./control-peer.ts";
import { invalidParams, objectParams, textParam } from "./params.ts";

/** An account by name: its key and its name as typed. */
export interface Account {
  key: string;
  name: string;
}

/**
 * The operator's moderation: bans, mutes, removing an account and resetting its password. `by`
 * names who asked (the control client's uid where the platform tells it), for the log.
 */
export interface ModerationControl {
  /** Resolves with how many users online it disconnected. */
  bansAdd(
    target: BanTarget,
    reason: string | null,
    forSeconds: number | null,
    by: Promise<string>,
  ): Promise<number>;
  bansList(): BanEntry[] | Promise<BanEntry[]>;
  /** False when target is not banned. */
  bansRemove(target: BanTarget, by: Promise<string>): Promise<boolean>;
  /** null when there is no such account; else until when (ISO, null: until unmuted). */
  usersMute(
    account: Account,
    forSeconds: number | null,
    by: Promise<string>,
  ): Promise<{ until: string | null } | null>;
  /** null when there is no such account and nothing to unmute. */
  usersUnmute(account: Account, by: Promise<string>): Promise<boolean | null>;
  /** False when there is no such account. */
  identitiesRemove(account: Account, by: Promise<string>): Promise<boolean>;
  /** The account's name and its one-time password; null when there is no such account. */
  identitiesReset(
    account: Account,
    by: Promise<string>,
  ): Promise<{ name: string; oneTimePassword: string } | null>;
}

function noSuchAccount(name: string): JSONRPCErrorException {
  return new JSONRPCErrorException(`no such account: ${name}`, RpcErrorCode.noSuchAccount);
}

/** forSeconds: absent or null is permanent; else a number of seconds, more than 0 and at most ten years. */
function durationParam(params: Record<string, unknown>): number | null {
  const value = params.forSeconds;
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_MODERATION_SECONDS)
    throw invalidParams(
      `forSeconds must be a number of seconds, more than 0 and at most ${MAX_MODERATION_SECONDS}`,
    );
  return value;
}

/** reason: absent or blank is none; else sanitised (as users will see it) and at most MAX_BAN_REASON characters. */
function reasonParam(params: Record<string, unknown>): string | null {
  const text = sanitize(textParam(params, "reason", false) ?? "").trim();
  if (text === "") return null;
  if ([...text].length > MAX_BAN_REASON)
    throw invalidParams(`reason must be at most ${MAX_BAN_REASON} characters`);
  return text;
}

function targetParam(params: Record<string, unknown>): BanTarget {
  const text = textParam(params, "target", true);
  try {
    return parseBanTarget(text);
  } catch (error) {
    if (error instanceof BadBanTarget) throw invalidParams(error.message);
    throw error;
  }
}

function accountParam(params: Record<string, unknown>): Account {
  const typed = textParam(params, "name", true);
  const checked = checkName(typed);
  if (!checked.ok) throw invalidParams(`${typed} is not a valid name (${checked.reason})`);
  return { key: checked.key, name: checked.name };
}

/** Who asked, looked up while the request runs (the client waits for its answer, so it is still there). */
export function askedBy(conn: ControlConnection): Promise<string> {
  return conn.peer?.() ?? Promise.resolve(UNKNOWN_PEER);
}

export function moderationHandlers(moderation: ModerationControl) {
  const serveBansAdd: Serve<"bans.add"> = async (params, conn) => {
    const p = objectParams(params);
    const target = targetParam(p);
    const reason = reasonParam(p);
    const forSeconds = durationParam(p);
    try {
      const disconnected = await moderation.bansAdd(target, reason, forSeconds, askedBy(conn));
      return { banned: true, disconnected };
    } catch (error) {
      if (error instanceof ModerationListFull)
        throw new JSONRPCErrorException(error.message, RpcErrorCode.unavailable);
      throw error;
    }
  };

  const serveBansList: Serve<"bans.list"> = () => moderation.bansList();

  const serveBansRemove: Serve<"bans.remove"> = async (params, conn) => {
    const target = targetParam(objectParams(params));
    if (!(await moderation.bansRemove(target, askedBy(conn))))
      throw new JSONRPCErrorException(`${target.target} is not banned`, RpcErrorCode.notBanned);
    return { removed: true };
  };

  const serveIdentitiesRemove: Serve<"identities.remove"> = async (params, conn) => {
    const account = accountParam(objectParams(params));
    if (!(await moderation.identitiesRemove(account, askedBy(conn)))) throw noSuchAccount(account.name);
    return { removed: true };
  };

  const serveIdentitiesReset: Serve<"identities.reset"> = async (params, conn) => {
    const account = accountParam(objectParams(params));
    const reset = await moderation.identitiesReset(account, askedBy(conn));
    if (!reset) throw noSuchAccount(account.name);
    return reset;
  };

  const serveUsersMute: Serve<"users.mute"> = async (params, conn) => {
    const p = objectParams(params);
    const account = accountParam(p);
    const forSeconds = durationParam(p);
    let muted: { until: string | null } | null;
    try {
      muted = await moderation.usersMute(account, forSeconds, askedBy(conn));
    } catch (error) {
      if (error instanceof ModerationListFull)
        throw new JSONRPCErrorException(error.message, RpcErrorCode.unavailable);
      throw error;
    }
    if (!muted) throw noSuchAccount(account.name);
    return { muted: true, until: muted.until };
  };

  const serveUsersUnmute: Serve<"users.unmute"> = async (params, conn) => {
    const account = accountParam(objectParams(params));
    if ((await moderation.usersUnmute(account, askedBy(conn))) === null) throw noSuchAccount(account.name);
    return { muted: false };
  };

  return {
    serveBansAdd,
    serveBansList,
    serveBansRemove,
    serveIdentitiesRemove,
    serveIdentitiesReset,
    serveUsersMute,
    serveUsersUnmute,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What moderation asks of the accounts: identities.json's store, or the cluster's (cluster/redis-accounts.ts). */
export type ModeratedAccounts = {
  get(key: string): Promise<{ name: string } | null | undefined>;
} & Pick<IdentityStore, "remove" | "resetPassword">;

/**
 * The moderation over the chat hub, the bans and mutes, and the identity store. Each change is
 * written first (moderation.json, identities.json) and only then acted on, and each is logged at
 * info with who asked.
 */
export function moderationControl(
  chat: ChatHub,
  moderation: BansAndMutes,
  identities: ModeratedAccounts,
  log: Log,
): ModerationControl {
  return {
    bansAdd: async (target, reason, forSeconds, by) => {
      const ban = await moderation.ban(target, reason, forSeconds);
      let matches: (member: { key: string; address: string }) => boolean;
      if (target.kind === "name") matches = (member) => member.key === target.key;
      else {
        const list = new AddressBanList([{ target: target.target, reason, until: ban.until }]);
        matches = (member) => list.match(member.address, Date.now()) !== null;
      }
      const names = await chat.disconnect(matches, kickedLine(reason ?? undefined), "banned by the operator");
      log("info", "banned", {
        target: target.target,
        reason,
        until: iso(ban.until),
        disconnected: names,
        by: await by,
      });
      return names.length;
    },
    bansList: () => moderation.list(),
    bansRemove: async (target, by) => {
      const removed = await moderation.unban(target);
      if (removed) log("info", "ban lifted", { target: target.target, by: await by });
      return removed;
    },
    usersMute: async (account, forSeconds, by) => {
      const identity = await identities.get(account.key);
      if (!identity) return null;
      const mute = await moderation.mute(account.key, identity.name, forSeconds);
      log("info", "muted", { name: identity.name, until: iso(mute.until), by: await by });
      return { until: iso(mute.until) };
    },
    usersUnmute: async (account, by) => {
      const unmuted = await moderation.unmute(account.key);
      if (unmuted) {
        log("info", "unmuted", { name: account.name, by: await by });
        return true;
      }
      return (await identities.get(account.key)) ? false : null;
    },
    identitiesRemove: async (account, by) => {
      const identity = await identities.get(account.key);
      if (!identity || !(await identities.remove(account.key))) return false;
      const names = await chat.disconnect(
        (m) => m.key === account.key,
        ACCOUNT_REMOVED,
        "account removed by the operator",
      );
      // A mute belongs to the account; a name ban stays (it also keeps the name from being registered again).
      await moderation.unmute(account.key).catch(() => false);
      log("info", "account removed", { name: identity.name, online: names.length > 0, by: await by });
      return true;
    },
    identitiesReset: async (account, by) => {
      const password = oneTimePassword();
      const name = await identities.resetPassword(account.key, password);
      if (name === null) return null;
      // The password itself is never logged.
      log("info", "password reset to a one-time password", { name, by: await by });
      return { name, oneTimePassword: password };
    },
  };
}
