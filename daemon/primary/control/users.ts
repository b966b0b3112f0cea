import { JSONRPCErrorException } from "json-rpc-2.0";
import { type OnlineUser, RpcErrorCode } from "../../../protocol/rpc.ts";
import type { ChatHub, Maybe } from "../hub/chat-hub.ts";
import type { Log } from "../log/logger.ts";
import type { Serve } from "./control-server.ts";
import { objectParams, textParam } from "./params.ts";

/** The users online: users.list, users.kick, and chat.announce to all of them. */
export interface UsersControl {
  usersList(): Maybe<OnlineUser[]>;
  /** False when nobody of that name is online. */
  kick(name: string, reason?: string): Maybe<boolean>;
  /** Returns how many users it reached. */
  announce(text: string): Maybe<number>;
}

export function usersHandlers(users: UsersControl) {
  const serveChatAnnounce: Serve<"chat.announce"> = async (params) => {
    const text = textParam(objectParams(params), "text", true);
    return { delivered: await users.announce(text) };
  };

  const serveUsersKick: Serve<"users.kick"> = async (params) => {
    const p = objectParams(params);
    const name = textParam(p, "name", true);
    const reason = textParam(p, "reason", false);
    if (!(await users.kick(name, reason)))
      throw new JSONRPCErrorException(`${name} is not online`, RpcErrorCode.notOnline);
    return { kicked: true };
  };

  const serveUsersList: Serve<"users.list"> = () => users.usersList();

  return { serveChatAnnounce, serveUsersKick, serveUsersList };
}

/** The users' operations over the chat hub; kicks and announcements are logged. */
export function usersControl(chat: ChatHub, log: Log): UsersControl {
  return {
    usersList: () => chat.users(),
    kick: (name, reason) => chat.kick(name, reason),
    announce: (text) => {
      log("info", "announcement", { text });
      return chat.announce(text);
    },
  };
}
