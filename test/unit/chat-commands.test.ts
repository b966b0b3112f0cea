import test from "ava";
import { COMMANDS, findCommand, HELP_LINES } from "../../daemon/thread/chat/commands.ts";

test("chat commands - /help is derived from the table, one line per command in its order", (t) => {
  t.deepEqual(HELP_LINES, [
    "/help - this list",
    "/who - who is online",
    "/history [N] - the last N messages (default 20, at most 500)",
    "/msg NAME TEXT - a private message to NAME",
    "/me ACTION - an action: others see * yourname ACTION",
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
  for (const name of ["foo", "", "HELP", "constructor", "__proto__", "toString"])
    t.is(findCommand(name), undefined, name);
});
