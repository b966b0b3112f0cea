import test from "ava";
import * as L from "../../protocol/chat-lines.ts";

test("chat lines - message forms", (t) => {
  t.is(L.chatLine("alice", "привет всем"), "<alice> привет всем\r\n");
  t.is(L.privateIn("alice", "are you there?"), "*alice* are you there?\r\n");
  t.is(L.privateOut("bob", "are you there?"), "-> *bob* are you there?\r\n");
  t.is(L.notice("carol joined"), "* carol joined\r\n");
  t.is(L.errorLine("oops"), "! oops\r\n");
  t.is(L.actionLine("alice", "waves"), "* alice waves\r\n");
});

test("chat lines - history line uses the server's local time", (t) => {
  const time = new Date(2026, 10, 27, 13, 5, 9).getTime(); // local time, month 10 = November
  t.is(L.historyLine(time, "bob", "hi"), "[2026-11-27 13:05:09] <bob> hi\r\n");
  t.is(L.historyLine(time, "alice", "waves", true), "[2026-11-27 13:05:09] * alice waves\r\n");
  t.is(L.formatLocalTime(new Date(2001, 0, 2, 3, 4, 5, 999).getTime()), "2001-01-02 03:04:05");
});

test("chat lines - online line counts and sorts by case-folded name", (t) => {
  t.is(L.onlineLine(["carol", "Bob", "alice"]), "* 3 online: alice, Bob, carol\r\n");
  t.is(L.onlineLine(["solo"]), "* 1 online: solo\r\n");
});

test("chat lines - prompts have no line end", (t) => {
  t.is(L.loginPrompt(), "login: ");
  t.is(L.loginPrompt("alice"), "login [alice]: ");
  t.is(L.PASSWORD_PROMPT, "password: ");
  t.is(L.NEW_PASSWORD_PROMPT, "new password: ");
  t.is(L.REPEAT_PASSWORD_PROMPT, "repeat password: ");
  t.is(L.CURRENT_PASSWORD_PROMPT, "password: ");
  for (const p of [
    L.CURRENT_PASSWORD_PROMPT,
    L.loginPrompt(),
    L.loginPrompt("x"),
    L.PASSWORD_PROMPT,
    L.NEW_PASSWORD_PROMPT,
    L.REPEAT_PASSWORD_PROMPT,
  ])
    t.true(p.endsWith(": ") && !p.includes("\n"));
});

test("chat lines - fixed lines of the contract are exact", (t) => {
  t.is(L.lineTooLong(4096), "! line too long (limit 4096 bytes)\r\n");
  t.is(L.slowDown(1), "! slow down (1 line dropped)\r\n");
  t.is(L.slowDown(30), "! slow down (30 lines dropped)\r\n");
  t.is(L.WRONG_PASSWORD, "! wrong password\r\n");
  t.is(L.TOO_MANY_FAILURES, "! too many failures\r\n");
  t.is(L.SIGNED_IN_ELSEWHERE, "* signed in from elsewhere\r\n");
  t.is(L.TOO_MANY_CONNECTIONS, "! too many connections from your address\r\n");
  t.is(L.BYE, "* bye\r\n");
  t.is(L.END_OF_HISTORY, "* end of history\r\n");
  t.is(L.SHUTTING_DOWN, "* server shutting down\r\n");
  t.is(L.unknownCommand("foo"), "! unknown command /foo (try /help)\r\n");
  t.is(L.noSuchUser("dave"), "! no such user online: dave\r\n");
  t.is(L.joinedLine("carol"), "* carol joined\r\n");
  t.is(L.leftLine("alice"), "* alice left\r\n");
  t.is(L.leftLine("alice", "lunch"), "* alice left (lunch)\r\n");
  t.is(L.kickedLine(), "* disconnected by the operator\r\n");
  t.is(L.kickedLine("spam"), "* disconnected by the operator: spam\r\n");
  t.is(L.announceLine("restart at 5"), "* server: restart at 5\r\n");
});

test("chat lines - operator text is sanitised", (t) => {
  t.is(L.announceLine("hi\x1b[2J there\r\n"), "* server: hi there\r\n");
  t.is(L.kickedLine("\x1b[31m"), "* disconnected by the operator\r\n");
});

test("chat lines - every non-prompt line ends with exactly one CR LF", (t) => {
  const lines = [
    L.chatLine("a", "b"),
    L.historyLine(0, "a", "b"),
    L.onlineLine([]),
    L.greetingLine(),
    L.welcomeBack("a"),
    L.registered("a"),
    L.PASSWORD_CHANGED,
    L.PASSWORDS_DIFFER,
    L.passwordTooShort(4),
  ];
  for (const line of lines) {
    t.true(line.endsWith("\r\n"), line);
    t.is(line.indexOf("\n"), line.length - 1, line);
  }
});

test("chat lines - issue 17: away in the online list, the away answer, whois, spans", (t) => {
  t.is(L.onlineLine(["carol", "Bob", "alice"], ["Bob"]), "* 3 online: alice, Bob (away), carol\r\n");
  t.is(L.awayNotice("bob", "lunch"), "* bob is away: lunch\r\n");
  t.is(L.noSuchAccount("zed"), "! no such user: zed\r\n");
  t.is(L.NOBODY_TO_REPLY, "! nobody to reply to\r\n");
  t.is(L.spanWords(999), "0 seconds");
  t.is(L.spanWords(1000), "1 second");
  t.is(L.spanWords(61_000), "1 minute");
  t.is(L.spanWords(2 * 3_600_000 + 5 * 60_000), "2 hours 5 minutes");
  t.is(L.spanWords(3 * 86_400_000), "3 days");
  t.is(L.spanWords(86_400_000 + 3_600_000), "1 day 1 hour");
  const since = new Date(2026, 11, 4, 20, 0, 1).getTime();
  t.is(
    L.whoisOnline("bob", since, since + 60_000, "reading", since + 180_000),
    "* bob is online since 2026-12-04 20:00:01 (3 minutes)\r\n* bob is idle for 2 minutes\r\n* bob is away: reading\r\n",
  );
  t.is(
    L.whoisOffline("bob", since, since + 3_600_000),
    "* bob is offline; last signed in 2026-12-04 20:00:01 (1 hour ago)\r\n",
  );
  t.is(L.whoisOffline("bob", null, since), "* bob is offline; never signed in\r\n");
  t.is(L.motdLines(["hello", ""]), "* hello\r\n* \r\n");
});
