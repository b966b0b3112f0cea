/**
 * Every line the chat server sends, formatted in one place so the wire contract
 * (docs: shared spec "chat-protocol.md") is kept by construction. Lines end with CR LF;
 * prompts end with ": " and no line end.
 *
 * Names and user text are expected already sanitised (the session sanitises input once);
 * text that comes from the operator (announce, kick reason) is sanitised here.
 */

import { sortNames } from "./names.ts";
import { sanitize } from "./text.ts";

export const CRLF = "\r\n";

/** chatLine is a live chat message: `<name> text`. */
export function chatLine(name: string, text: string): string {
  return `<${name}> ${text}\r\n`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** formatLocalTime renders a ms epoch as `YYYY-MM-DD HH:MM:SS` in the server's local time. */
export function formatLocalTime(time: number): string {
  const d = new Date(time);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * historyLine is a message from history: `[YYYY-MM-DD HH:MM:SS] <name> text` (local time), or
 * for a /me action `[YYYY-MM-DD HH:MM:SS] * name text`.
 */
export function historyLine(time: number, name: string, text: string, action = false): string {
  return action
    ? `[${formatLocalTime(time)}] * ${name} ${text}\r\n`
    : `[${formatLocalTime(time)}] <${name}> ${text}\r\n`;
}

/** privateIn is a private message to the reader: `*from* text`. */
export function privateIn(from: string, text: string): string {
  return `*${from}* ${text}\r\n`;
}

/** privateOut is the sender's copy of a private message: `-> *to* text`. */
export function privateOut(to: string, text: string): string {
  return `-> *${to}* ${text}\r\n`;
}

/** notice is a `* ` line: joins, leaves, answers to commands. */
export function notice(text: string): string {
  return `* ${text}\r\n`;
}

/** errorLine is a `! ` line: an error that concerns the reader. */
export function errorLine(text: string): string {
  return `! ${text}\r\n`;
}

/** actionLine is a /me action as others see it: `* name action`. */
export function actionLine(name: string, action: string): string {
  return `* ${name} ${action}\r\n`;
}

/**
 * onlineLine answers /who (and ends sign-in): `* N online: a, b, c`, sorted by case-folded name;
 * the names in `away` are shown as `name (away)`.
 */
export function onlineLine(names: readonly string[], away: readonly string[] = [], sorted = false): string {
  const isAway = new Set(away);
  // sorted: the hub's list is in /who's order already; sorting 10,000 names again costs a sign-in milliseconds.
  const shown = (sorted ? names : sortNames(names)).map((name) =>
    isAway.has(name) ? `${name} (away)` : name,
  );
  return `* ${names.length} online: ${shown.join(", ")}\r\n`;
}

// Prompts: no line end.

/** loginPrompt asks for a name, offering the name last used from the address when known. */
export function loginPrompt(remembered?: string): string {
  return remembered ? `login [${remembered}]: ` : "login: ";
}
export const PASSWORD_PROMPT = "password: ";
/**
 * /passwd's first question: the password in use, so a session left open cannot be taken over.
 * chat-protocol.md's /passwd row asks it as `password: ` (issue 13 asked for `current password: `;
 * the contract wins).
 */
export const CURRENT_PASSWORD_PROMPT = PASSWORD_PROMPT;
export const NEW_PASSWORD_PROMPT = "new password: ";
export const REPEAT_PASSWORD_PROMPT = "repeat password: ";

// Fixed lines of the contract.

export function lineTooLong(limit: number): string {
  return `! line too long (limit ${limit} bytes)\r\n`;
}
/** Flood control dropped lines beyond the queue: told at most once a second, with how many. */
export function slowDown(dropped: number): string {
  return `! slow down (${dropped} ${dropped === 1 ? "line" : "lines"} dropped)\r\n`;
}
export const SERVER_FULL = "! the server is full; try again later\r\n";
/** Before a history answer that had to leave older lines out to stay within its size bound. */
export function historyOmitted(n: number): string {
  return `* ${n} older ${n === 1 ? "line" : "lines"} not shown: too long for one answer\r\n`;
}
export const WRONG_PASSWORD = "! wrong password\r\n";
export const TOO_MANY_FAILURES = "! too many failures\r\n";
export const SIGNED_IN_ELSEWHERE = "* signed in from elsewhere\r\n";
export const TOO_MANY_CONNECTIONS = "! too many connections from your address\r\n";
export const BYE = "* bye\r\n";
export const END_OF_HISTORY = "* end of history\r\n";
export const SHUTTING_DOWN = "* server shutting down\r\n";

export function unknownCommand(name: string): string {
  return `! unknown command /${name} (try /help)\r\n`;
}

export function noSuchUser(name: string): string {
  return `! no such user online: ${name}\r\n`;
}

/** `/whois` (or `/ignore`) of a name no account has, or that is not a valid name. */
export function noSuchAccount(name: string): string {
  return `! no such user: ${name}\r\n`;
}

export const NOBODY_TO_REPLY = "! nobody to reply to\r\n";

/** Told to the sender of a /msg whose recipient is away. */
export function awayNotice(name: string, text: string): string {
  return `* ${name} is away: ${text}\r\n`;
}

export function joinedLine(name: string): string {
  return `* ${name} joined\r\n`;
}

/** Names a combined join or leave notice shows; the rest are counted (chat-protocol.md). */
export const STORM_NAMES_SHOWN = 20;

/**
 * stormLine combines the joins (or leaves) of a storm into one notice: `* 14 joined: alice, bob,
 * carol`, names sorted as /who, at most STORM_NAMES_SHOWN of them, then `and N more`.
 */
export function stormLine(verb: "joined" | "left", sortedNames: readonly string[]): string {
  const shown = sortedNames.slice(0, STORM_NAMES_SHOWN).join(", ");
  const more = sortedNames.length - STORM_NAMES_SHOWN;
  return `* ${sortedNames.length} ${verb}: ${shown}${more > 0 ? ` and ${more} more` : ""}\r\n`;
}

/** leftLine announces the end of a session: `* NAME left` or `* NAME left (REASON)`. */
export function leftLine(name: string, reason?: string): string {
  return reason ? `* ${name} left (${reason})\r\n` : `* ${name} left\r\n`;
}

/** kickedLine is what a kicked user sees: `* disconnected by the operator` or `...: REASON`. */
export function kickedLine(reason?: string): string {
  const r = reason ? sanitize(reason) : "";
  return r ? `* disconnected by the operator: ${r}\r\n` : "* disconnected by the operator\r\n";
}

/** announceLine is an operator announcement: `* server: TEXT`. */
export function announceLine(text: string): string {
  return `* server: ${sanitize(text)}\r\n`;
}

// Free wording.

export function greetingLine(serverName = "tsd"): string {
  return `* welcome to ${serverName} chat; sign in or pick a new name to register\r\n`;
}
export function welcomeBack(name: string): string {
  return `* welcome back, ${name}\r\n`;
}
export function registered(name: string): string {
  return `* registered ${name}\r\n`;
}
export const PASSWORD_CHANGED = "* password changed\r\n";
export const PASSWORD_UNCHANGED =
  "! your password could not be changed right now (the server cannot use its account file); try again later\r\n";
export const PASSWORDS_DIFFER = "! the passwords differ, try again\r\n";
export function passwordTooShort(min: number): string {
  return `! passwords are at least ${min} characters\r\n`;
}

/** "in 40 seconds", "in 12 minutes": a wait as a person reads it, rounded up. */
function waitWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
export function tooManyRegistrations(retryAfterMs: number): string {
  return `! too many new accounts from your network; try again in ${waitWords(retryAfterMs)}\r\n`;
}
export function signInsPaused(name: string, retryAfterMs: number): string {
  return `! too many failed sign-ins to ${name} from new addresses; try again in ${waitWords(retryAfterMs)}\r\n`;
}
/** Sign-in cannot go on: the account file cannot be used right now (the operator is told in the log). */
export const ACCOUNTS_UNAVAILABLE = "! accounts are unavailable right now; try again later\r\n";
/** In a cluster whose Redis cannot be reached: the line was not sent (and will not be later). */
export const CHAT_UNAVAILABLE = "! the chat cannot be reached right now; your line was not sent\r\n";
/** In a cluster: the connection to Redis was lost as the line was sent, and Redis has not answered since to say whether it got it. */
export const CHAT_MAYBE_UNSENT =
  "! the chat cannot be reached right now; your line may not have been sent\r\n";
/** In a cluster whose Redis cannot answer: /who cannot list the cluster (this daemon's own users are not all of it). */
export const WHO_UNAVAILABLE = "! who is online cannot be known right now; try again later\r\n";
/** In a cluster whose Redis cannot take it: /away did not change anything. */
export const AWAY_UNAVAILABLE = "! the chat cannot be reached right now; your away state was not changed\r\n";
/** In a cluster whose Redis cannot be reached: a sign-in cannot complete now. */
export const SIGN_IN_UNAVAILABLE = "! signing in is not possible right now; try again later\r\n";
/** A registration that could not be written: no account was made. */
export const ACCOUNT_NOT_SAVED =
  "! your account could not be saved (the server cannot write it); try again later\r\n";

/** The message of the day, as sign-in shows it after the replay: one `* ` line each. */
export function motdLines(lines: readonly string[]): string {
  return lines.map(notice).join("");
}

export function markedAway(text: string): string {
  return `* you are marked away: ${text}\r\n`;
}
export const BACK = "* you are back\r\n";
export const NOT_AWAY = "* you were not away\r\n";

export function ignoring(name: string): string {
  return `* ignoring ${name} (they are not told)\r\n`;
}
export function alreadyIgnoring(name: string): string {
  return `* already ignoring ${name}\r\n`;
}
export function unignored(name: string): string {
  return `* no longer ignoring ${name}\r\n`;
}
export function notIgnoring(name: string): string {
  return `! you are not ignoring ${name}\r\n`;
}
/** `/ignore` alone: the names ignored, sorted as /who. */
export function ignoreList(names: readonly string[]): string {
  return names.length === 0
    ? "* you ignore nobody\r\n"
    : `* ignoring ${names.length}: ${sortNames(names).join(", ")}\r\n`;
}
export const CANNOT_IGNORE_SELF = "! you cannot ignore yourself\r\n";
export function ignoreListFull(max: number): string {
  return `! you already ignore ${max} names, the most there may be; /unignore one first\r\n`;
}
export const IGNORES_UNAVAILABLE =
  "! your ignore list could not be changed right now (the server cannot use its account file); try again later\r\n";

/** "42 seconds", "3 minutes", "2 hours 5 minutes", "3 days 4 hours": a span as a person reads it. */
export function spanWords(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (s < 60) return unit(s, "second");
  const m = Math.floor(s / 60);
  if (m < 60) return unit(m, "minute");
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${unit(h, "hour")} ${unit(m % 60, "minute")}` : unit(h, "hour");
  const d = Math.floor(h / 24);
  return h % 24 ? `${unit(d, "day")} ${unit(h % 24, "hour")}` : unit(d, "day");
}

/** `/whois` of a signed-in user: online since (server's local time), idle for, away text if any. */
export function whoisOnline(
  name: string,
  since: number,
  lastActive: number,
  away: string | null,
  now: number,
): string {
  const lines = [
    notice(`${name} is online since ${formatLocalTime(since)} (${spanWords(now - since)})`),
    notice(`${name} is idle for ${spanWords(now - lastActive)}`),
  ];
  if (away !== null) lines.push(awayNotice(name, away));
  return lines.join("");
}

/** ` (until 2026-12-05 01:00:00)` for a timed ban or mute (server's local time); "" when it is permanent. */
function untilWords(until: number | null): string {
  return until === null ? "" : ` (until ${formatLocalTime(until)})`;
}

/** What a banned address or name is told before it is closed: `! banned`, the expiry and the reason if any. */
export function bannedLine(reason: string | null, until: number | null): string {
  const r = reason ? sanitize(reason) : "";
  return `! banned${untilWords(until)}${r ? `: ${r}` : ""}\r\n`;
}

/** A muted user's chat line, /me or /msg, which nobody else sees. */
export function mutedLine(until: number | null): string {
  return `! you are muted${untilWords(until)}\r\n`;
}

/** The last line of a user whose account the operator removed (identities.remove). */
export const ACCOUNT_REMOVED = "* your account was removed by the operator\r\n";

/** Signing in with a one-time password (identities.reset): a new password is asked for before the sign-in completes. */
export const CHOOSE_NEW_PASSWORD = "* your password was reset by the operator; choose a new one\r\n";

/** `/whois` of an account that is offline: when it last signed in (null: never yet). */
export function whoisOffline(name: string, lastSignIn: number | null, now: number): string {
  return lastSignIn === null
    ? notice(`${name} is offline; never signed in`)
    : notice(
        `${name} is offline; last signed in ${formatLocalTime(lastSignIn)} (${spanWords(now - lastSignIn)} ago)`,
      );
}
