import test from "ava";
import { COMMANDS, findCommand, HELP_LINES } from "../../daemon/thread/chat/commands.ts";

test("chat commands - /help is derived from the table, one line per command in its order", (t) => {
  t.deepEqual(HELP_LINES, [
    "/help - this list",
    "/who - who is online",
    "/history [N] - the last N messages (default 20, at most 500)",
    "/msg NAME TEXT - a private message to NAME",
    "/reply TEXT (or /r) - a private message to whoever last sent you one",
    "/me ACTION - an action: others see * yourname ACTION",
    "/away [TEXT] - say you are away (a /msg to you tells its sender); /away alone: back",
    "/whois NAME - online since, idle for, away; or when last seen",
    "/ignore [NAME] - hide NAME's lines from you (not told; kept; at most 100); /ignore alone: the list",
    "/unignore NAME - show NAME's lines again",
    "/passwd - change your password",
    "/quit [REASON] - leave",
    "//text - send a message that starts with /",
  ]);
  t.deepEqual(
    COMMANDS.map((c) => c.name),
    HELP_LINES.slice(0, -1).map((line) => /^\/(\S+)/.exec(line)![1]),
  );
});

test("chat commands - found by their lower-case name only; nothing else is a command", (t) => {
  for (const command of COMMANDS) t.is(findCommand(command.name), command);
  t.is(findCommand("r"), findCommand("reply"), "/r is /reply");
  for (const name of ["foo", "", "HELP", "constructor", "__proto__", "toString"])
    t.is(findCommand(name), undefined, name);
});
