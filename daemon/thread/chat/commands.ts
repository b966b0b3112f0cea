import {
  HISTORY_DEFAULT,
  HISTORY_MAX,
  parseHistoryCount,
  splitMsgArgs,
} from "../../../protocol/chat-input.ts";
import {
  ACCOUNTS_UNAVAILABLE,
  alreadyIgnoring,
  awayNotice,
  BACK,
  BYE,
  CANNOT_IGNORE_SELF,
  CURRENT_PASSWORD_PROMPT,
  END_OF_HISTORY,
  errorLine,
  IGNORES_UNAVAILABLE,
  ignoreList,
  ignoreListFull,
  ignoring,
  markedAway,
  NOBODY_TO_REPLY,
  NOT_AWAY,
  noSuchAccount,
  noSuchUser,
  notIgnoring,
  notice,
  onlineLine,
  PASSWORD_CHANGED,
  PASSWORD_UNCHANGED,
  privateOut,
  unignored,
  WRONG_PASSWORD,
  whoisOffline,
  whoisOnline,
} from "../../../protocol/chat-lines.ts";
import type { HistoryEntry } from "../../../protocol/hub-messages.ts";
import { checkName } from "../../../protocol/names.ts";
import type { AccountStore } from "../../shared/account-store.ts";
import type { Identity, IgnoreChange } from "../../shared/identity-store.ts";
import { MAX_IGNORES } from "../../shared/limits.ts";
import type { HubLink } from "../hub-link.ts";
import { threadCounters } from "../metrics.ts";
import type { ThreadLog } from "../service.ts";
import { faultWarnings } from "./fault-warnings.ts";
import { askNewPassword } from "./new-password.ts";
import type { SessionIO } from "./session-io.ts";

/** What a command may use of the signed-in session that typed it. */
export interface CommandSession {
  readonly sid: string;
  readonly name: string | null;
  readonly key: string | null;
  readonly io: SessionIO;
  readonly hub: HubLink;
  readonly identities: AccountStore;
  readonly log: ThreadLog;
  /** Whoever last sent this user a private message (null: nobody yet). */
  readonly replyTo: string | null;
  /** The accounts this user ignores: key -> name. */
  readonly ignores: ReadonlyMap<string, string>;
  /** Replaces the ignore list with the account's (names). */
  setIgnores(names: readonly string[]): void;
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
  /** Other names that run it (/r for /reply). */
  readonly aliases?: readonly string[];
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
    const { names, away, refused } = await session.hub.request({ k: "who" });
    session.io.send(refused ?? onlineLine(names, away));
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

/** A private message: the sender's copy, and the recipient's away text if they are away. */
async function sendPrivate(session: CommandSession, to: string, text: string): Promise<void> {
  threadCounters.messagesIn++;
  const reply = await session.hub.request({ k: "msg", sid: session.sid, to, text });
  if (reply.refused !== undefined) return session.io.send(reply.refused);
  if (!reply.ok) return session.io.send(noSuchUser(to));
  const away = reply.away === undefined ? "" : awayNotice(reply.name!, reply.away);
  session.io.send(privateOut(reply.name!, text) + away);
}

const msg: Command = {
  name: "msg",
  args: "NAME TEXT",
  summary: "a private message to NAME",
  run: (session, args) => {
    const parts = splitMsgArgs(args);
    if (!parts) return session.io.send(usage(msg));
    return sendPrivate(session, parts.name, parts.text);
  },
};

const reply: Command = {
  name: "reply",
  aliases: ["r"],
  args: "TEXT",
  summary: "a private message to whoever last sent you one",
  run: (session, args) => {
    if (session.replyTo === null) return session.io.send(NOBODY_TO_REPLY);
    const text = args.trim();
    if (text === "") return session.io.send(usage(reply, ` (replies to ${session.replyTo})`));
    return sendPrivate(session, session.replyTo, text);
  },
};

const away: Command = {
  name: "away",
  args: "[TEXT]",
  summary: "say you are away (a /msg to you tells its sender); /away alone: back",
  run: async (session, args) => {
    const text = args.trim();
    const { was, refused } = await session.hub.request({ k: "away", sid: session.sid, text: text || null });
    if (refused !== undefined) return session.io.send(refused);
    session.io.send(text ? markedAway(text) : was === null ? NOT_AWAY : BACK);
  },
};

/** The account a typed name belongs to; undefined when there is none or the name is not valid. */
async function accountNamed(session: CommandSession, typed: string): Promise<Identity | undefined> {
  const checked = checkName(typed);
  return checked.ok ? session.identities.get(checked.key) : undefined;
}

const whois: Command = {
  name: "whois",
  args: "NAME",
  summary: "online since, idle for, away; or when last seen",
  run: async (session, args) => {
    const typed = args.trim();
    if (typed === "" || /\s/u.test(typed)) return session.io.send(usage(whois));
    const checked = checkName(typed);
    if (!checked.ok) return session.io.send(noSuchAccount(typed));
    const { online } = await session.hub.request({ k: "whois", key: checked.key });
    const now = Date.now();
    if (online) {
      return session.io.send(whoisOnline(online.name, online.since, online.lastActive, online.away, now));
    }
    let account: Identity | undefined;
    try {
      account = await session.identities.get(checked.key);
    } catch {
      return session.io.send(ACCOUNTS_UNAVAILABLE);
    }
    if (!account) return session.io.send(noSuchAccount(typed));
    const lastSignIn = account.lastLoginAt === null ? null : Date.parse(account.lastLoginAt);
    session.io.send(whoisOffline(account.name, lastSignIn, now));
  },
};

/**
 * Writes the change to the account, then takes the account's list as it now is (another
 * session may have changed it too); null: the identity file could not be used, and the user is told.
 */
async function changeIgnores(
  session: CommandSession,
  name: string,
  on: boolean,
): Promise<IgnoreChange | null> {
  try {
    const change = await session.identities.setIgnored(session.key!, name, on);
    const account = await session.identities.get(session.key!);
    session.setIgnores(account?.ignores ?? []);
    return change;
  } catch (error) {
    faultWarnings.warn(
      session.log,
      "ignore list not changed: the identity file cannot be used",
      { name: session.name },
      error,
    );
    session.io.send(IGNORES_UNAVAILABLE);
    return null;
  }
}

const ignore: Command = {
  name: "ignore",
  args: "[NAME]",
  summary: `hide NAME's lines from you (not told; kept; at most ${MAX_IGNORES}); /ignore alone: the list`,
  run: async (session, args) => {
    const typed = args.trim();
    if (typed === "") return session.io.send(ignoreList([...session.ignores.values()]));
    if (/\s/u.test(typed)) return session.io.send(usage(ignore));
    const checked = checkName(typed);
    if (checked.ok && checked.key === session.key) return session.io.send(CANNOT_IGNORE_SELF);
    let account: Identity | undefined;
    try {
      account = await accountNamed(session, typed);
    } catch {
      return session.io.send(ACCOUNTS_UNAVAILABLE);
    }
    if (!account) return session.io.send(noSuchAccount(typed));
    if (session.ignores.has(account.key))
      return session.io.send(alreadyIgnoring(session.ignores.get(account.key)!));
    if (session.ignores.size >= MAX_IGNORES) return session.io.send(ignoreListFull(MAX_IGNORES));
    const change = await changeIgnores(session, account.name, true);
    if (change === "ok" || change === "unchanged") session.io.send(ignoring(account.name));
    else if (change === "full") session.io.send(ignoreListFull(MAX_IGNORES));
    else if (change === "gone") session.io.send(errorLine("your account is gone (wiped by the operator)"));
  },
};

const unignore: Command = {
  name: "unignore",
  args: "NAME",
  summary: "show NAME's lines again",
  run: async (session, args) => {
    const typed = args.trim();
    if (typed === "" || /\s/u.test(typed)) return session.io.send(usage(unignore));
    const checked = checkName(typed);
    const name = checked.ok ? session.ignores.get(checked.key) : undefined;
    if (name === undefined) return session.io.send(notIgnoring(typed));
    const change = await changeIgnores(session, name, false);
    if (change === "ok" || change === "unchanged") session.io.send(unignored(name));
    else if (change === "gone") session.io.send(errorLine("your account is gone (wiped by the operator)"));
  },
};

const me: Command = {
  name: "me",
  args: "ACTION",
  summary: "an action: others see * yourname ACTION",
  run: (session, args) => {
    if (args.trim() === "") return session.io.send(usage(me));
    threadCounters.messagesIn++;
    session.hub.send({ k: "act", sid: session.sid, text: args });
  },
};

const passwd: Command = {
  name: "passwd",
  args: "",
  summary: "change your password",
  run: (session) =>
    session.io.ask(CURRENT_PASSWORD_PROMPT, (password) => changePassword(session, password), true),
};

const quit: Command = {
  name: "quit",
  args: "[REASON]",
  summary: "leave",
  run: (session, args) => session.leave("quit", BYE, args.trim() || undefined),
};

/** The commands a signed-in user has, in /help order. */
export const COMMANDS: readonly Command[] = [
  help,
  who,
  history,
  msg,
  reply,
  me,
  away,
  whois,
  ignore,
  unignore,
  passwd,
  quit,
];

function helpLine(c: Command): string {
  const also = (c.aliases ?? []).map((alias) => ` (or /${alias})`).join("");
  return `/${c.name}${c.args ? ` ${c.args}` : ""}${also} - ${c.summary}`;
}

/** The /help answer: one notice text per command, with its arguments. */
export const HELP_LINES: readonly string[] = [
  ...COMMANDS.map(helpLine),
  "//text - send a message that starts with /",
];

const BY_NAME = new Map(
  COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((name) => [name, c] as const)),
);

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
  faultWarnings.warn(
    session.log,
    "password not changed: the identity file cannot be used",
    { name: session.name },
    error,
  );
  session.io.send(PASSWORD_UNCHANGED);
}
