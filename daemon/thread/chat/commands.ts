import {
  HISTORY_DEFAULT,
  HISTORY_MAX,
  parseHistoryCount,
  splitMsgArgs,
} from "../../../protocol/chat-input.ts";
import {
  BYE,
  END_OF_HISTORY,
  errorLine,
  noSuchUser,
  notice,
  onlineLine,
  PASSWORD_CHANGED,
  PASSWORD_UNCHANGED,
  PASSWORD_PROMPT,
  privateOut,
  WRONG_PASSWORD,
} from "../../../protocol/chat-lines.ts";
import type { HistoryEntry } from "../../../protocol/hub-messages.ts";
import type { IdentityStore } from "../../shared/identity-store.ts";
import type { HubLink } from "../hub-link.ts";
import type { ThreadLog } from "../service.ts";
import { askNewPassword } from "./new-password.ts";
import type { SessionIO } from "./session-io.ts";

/** What a command may use of the signed-in session that typed it. */
export interface CommandSession {
  readonly sid: string;
  readonly name: string | null;
  readonly key: string | null;
  readonly io: SessionIO;
  readonly hub: HubLink;
  readonly identities: IdentityStore;
  readonly log: ThreadLog;
  sendHistory(records: readonly HistoryEntry[], omitted: number): void;
  /** Ends the session on purpose: offline for everyone first, then the last line. */
  leave(reason: string, lastLine: string, leaveReason?: string): Promise<void>;
}

/** One /command: its name, its arguments and what it does as /help shows them, and its handler. */
export interface Command {
  readonly name: string;
  /** The arguments in /help's form ("" when it takes none). */
  readonly args: string;
  readonly summary: string;
  run(session: CommandSession, args: string): Promise<void> | void;
}

function usage(command: Command, note = ""): string {
  return errorLine(`usage: /${command.name} ${command.args}${note}`);
}

const help: Command = {
  name: "help",
  args: "",
  summary: "this list",
  run: (session) => session.io.send(HELP_LINES.map(notice).join("")),
};

const who: Command = {
  name: "who",
  args: "",
  summary: "who is online",
  run: async (session) => {
    const { names } = await session.hub.request({ k: "who" });
    session.io.send(onlineLine(names));
  },
};

const history: Command = {
  name: "history",
  args: "[N]",
  summary: `the last N messages (default ${HISTORY_DEFAULT}, at most ${HISTORY_MAX})`,
  run: async (session, args) => {
    const n = parseHistoryCount(args);
    if (n === null) return session.io.send(usage(history, `, N from 0 to ${HISTORY_MAX}`));
    const { records, omitted } = await session.hub.request({ k: "history", n });
    session.sendHistory(records, omitted);
    session.io.send(END_OF_HISTORY);
  },
};

const msg: Command = {
  name: "msg",
  args: "NAME TEXT",
  summary: "a private message to NAME",
  run: async (session, args) => {
    const parts = splitMsgArgs(args);
    if (!parts) return session.io.send(usage(msg));
    const reply = await session.hub.request({ k: "msg", sid: session.sid, to: parts.name, text: parts.text });
    session.io.send(reply.ok ? privateOut(reply.name!, parts.text) : noSuchUser(parts.name));
  },
};

const me: Command = {
  name: "me",
  args: "ACTION",
  summary: "an action: others see * yourname ACTION",
  run: (session, args) => {
    if (args.trim() === "") return session.io.send(usage(me));
    session.hub.send({ k: "act", sid: session.sid, text: args });
  },
};

const passwd: Command = {
  name: "passwd",
  args: "",
  summary: "change your password",
  run: (session) => session.io.ask(PASSWORD_PROMPT, (password) => changePassword(session, password), true),
};

const quit: Command = {
  name: "quit",
  args: "[REASON]",
  summary: "leave",
  run: (session, args) => session.leave("quit", BYE, args.trim() || undefined),
};

/** The commands a signed-in user has, in /help order. */
export const COMMANDS: readonly Command[] = [help, who, history, msg, me, passwd, quit];

/** The /help answer: one notice text per command, with its arguments. */
export const HELP_LINES: readonly string[] = [
  ...COMMANDS.map((c) => `/${c.name}${c.args ? ` ${c.args}` : ""} - ${c.summary}`),
  "//text - send a message that starts with /",
];

const BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));

/** The command of that (lower-cased) name, if there is one. */
export function findCommand(name: string): Command | undefined {
  return BY_NAME.get(name);
}

/** /passwd after the current password is typed: right, the new-password dialogue; wrong, back to chat. */
async function changePassword(session: CommandSession, current: string): Promise<void> {
  let ok: boolean;
  try {
    ok = (await session.identities.verify(session.key!, current)) !== null;
  } catch (error) {
    return passwordUnchanged(session, error);
  }
  if (!ok) return session.io.send(WRONG_PASSWORD);
  askNewPassword(session.io, async (password) => {
    let changed: boolean;
    try {
      changed = await session.identities.setPassword(session.key!, password);
    } catch (error) {
      return passwordUnchanged(session, error);
    }
    session.io.send(changed ? PASSWORD_CHANGED : errorLine("your account is gone (wiped by the operator)"));
    if (changed) session.log("info", "password changed", { name: session.name, address: session.io.address });
  });
}

/**
 * The identity file could not be read or written (corrupt, a full disk): the user keeps chatting
 * with the old password and is told so; the operator finds the cause in the log.
 */
function passwordUnchanged(session: CommandSession, error: unknown): void {
  session.log("warn", "password not changed: the identity file cannot be used", {
    name: session.name,
    error: error instanceof Error ? error.message : String(error),
  });
  session.io.send(PASSWORD_UNCHANGED);
}
