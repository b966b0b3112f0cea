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

/** historyLine is a message from history: `[YYYY-MM-DD HH:MM:SS] <name> text` (local time). */
export function historyLine(time: number, name: string, text: string): string {
  return `[${formatLocalTime(time)}] <${name}> ${text}\r\n`;
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

/** onlineLine answers /who (and ends sign-in): `* N online: a, b, c`, sorted by case-folded name. */
export function onlineLine(names: readonly string[]): string {
  return `* ${names.length} online: ${sortNames(names).join(", ")}\r\n`;
}

// Prompts: no line end.

/** loginPrompt asks for a name, offering the name last used from the address when known. */
export function loginPrompt(remembered?: string): string {
  return remembered ? `login [${remembered}]: ` : "login: ";
}
export const PASSWORD_PROMPT = "password: ";
export const NEW_PASSWORD_PROMPT = "new password: ";
export const REPEAT_PASSWORD_PROMPT = "repeat password: ";

// Fixed lines of the contract.

export function lineTooLong(limit: number): string {
  return `! line too long (limit ${limit} bytes)\r\n`;
}
export const SLOW_DOWN = "! slow down\r\n";
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

export function joinedLine(name: string): string {
  return `* ${name} joined\r\n`;
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
/** A registration that could not be written: no account was made. */
export const ACCOUNT_NOT_SAVED =
  "! your account could not be saved (the server cannot write it); try again later\r\n";
