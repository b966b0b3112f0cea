import { JSONRPCErrorException } from "json-rpc-2.0";
import { type OnlineUser, RpcErrorCode } from "../../../protocol/rpc.ts";
import type { ChatHub, Maybe } from "../hub/chat-hub.ts";
import type { Log } from "../log/logger.ts";
import type { Serve } from "./control-server.ts";
import { askedBy } from "./moderation.ts";
import { objectParams, textParam } from "./params.ts";

/** The users online: users.list, users.kick, and chat.announce to all of them. */
export interface UsersControl {
  usersList(): Maybe<OnlineUser[]>;
  /** False when nobody of that name is online. `by` names who asked, for the log, as for a ban. */
  kick(name: string, reason: string | undefined, by: Promise<string>): Maybe<boolean>;
  /** Returns how many users it reached. */
  announce(text: string, by: Promise<string>): Maybe<number>;
}

export function usersHandlers(users: UsersControl) {
  const serveChatAnnounce: Serve<"chat.announce"> = async (params, conn) => {
    const text = textParam(objectParams(params), "text", true);
    return { delivered: await users.announce(text, askedBy(conn)) };
  };

  const serveUsersKick: Serve<"users.kick"> = async (params, conn) => {
    const p = objectParams(params);
    const name = textParam(p, "name", true);
    const reason = textParam(p, "reason", false);
    if (!(await users.kick(name, reason, askedBy(conn))))
      throw new JSONRPCErrorException(`${name} is not online`, RpcErrorCode.notOnline);
    return { kicked: true };
  };

  const serveUsersList: Serve<"users.list"> = () => users.usersList();

  return { serveChatAnnounce, serveUsersKick, serveUsersList };
}

/**
 * The users' operations over the chat hub; kicks and announcements are logged with who asked,
 * as every moderation action is (the hub logs each session a kick closes).
 */
export function usersControl(chat: ChatHub, log: Log): UsersControl {
  return {
    usersList: () => chat.users(),
    kick: async (name, reason, by) => {
      const kicked = await chat.kick(name, reason);
      if (kicked) log("info", "kick", { name, reason: reason ?? null, by: await by });
      return kicked;
    },
    announce: async (text, by) => {
      log("info", "announcement", { text, by: await by });
      return chat.announce(text);
    },
  };
}
