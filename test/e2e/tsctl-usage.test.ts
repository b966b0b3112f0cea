/**
 * Bad usage acts on nothing: every tsctl command with an unknown option, a missing argument
 * and a malformed value, against one real daemon with an account online. Each exits 2 with one
 * line on stderr, and after each the daemon still runs (same pid), is not paused, has the same
 * accounts and the same users online, and nobody got an announcement.
 */
import test from "ava";
import type { IdentitySummary } from "../../protocol/rpc.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, shape(1, 1));

/** Each line is bad usage; a regex, when given, is what its message must say. */
const BAD: [string[], RegExp?][] = [
  [["status", "--bogus"], /status: unknown option --bogus/],
  [["status", "extra"], /unexpected argument "extra"/],
  [["status", "--timeout", "abc"], /--timeout takes a duration/],
  [["stop", "--force"]],
  [["stop", "--grace"], /--grace needs a value/],
  [["stop", "--grace", "-5s"], /--grace takes a duration/],
  [["stop", "--grace", "2h"], /--grace must be at most 10m/],
  [["stop", "now"]],
  [["pause", "--force"], /pause: unknown option --force/],
  [["pause", "now"]],
  [["pause", "--timeout", "-1s"]],
  [["resume", "--force"]],
  [["resume", "now"]],
  [["logs", "--bogus"]],
  [["logs", "-n"]],
  [["logs", "-n", "abc"], /-n takes a whole number/],
  [["logs", "clear", "--bogus"]],
  [["logs", "rotate"], /"rotate" is not one of clear, reopen/],
  [["identities", "--yes"], /identities: an argument is missing/],
  [["identities"]],
  [["identities", "wipe", "--yes", "--bogus"]],
  [["identities", "bogus", "--yes"]],
  [["identities", "wipe", "extra", "--yes"]],
  [["identities", "list", "--yes"]],
  [["identities", "remove", "--yes"], /needs the account's NAME/],
  [["identities", "remove", "alice", "--yes", "--force"]],
  [["identities", "reset"]],
  [["identities", "reset", "alice", "--bogus"]],
  [["who", "--bogus"]],
  [["who", "extra"]],
  [["kick"], /kick: an argument is missing; usage: tsctl kick NAME \[REASON\.\.\.\]/],
  [["kick", "alice", "--bogus"]],
  [["kick", "alice", "--timeout", "0"]],
  [["announce"]],
  [["announce", "hi", "--bogus"], /announce: unknown option --bogus/],
  [["announce", " "]],
  [["ban"]],
  [["ban", "127.0.0.1", "--bogus"]],
  [["ban", "127.0.0.1", "--for", "abc"], /--for takes a duration/],
  [["ban", "127.0.0.1", "--for", "-1h"]],
  [["ban", "127.0.0.1", "--for"]],
  [["unban"]],
  [["unban", "127.0.0.1", "--bogus"]],
  [["unban", "a", "b"]],
  [["bans", "--bogus"]],
  [["bans", "extra"]],
  [["mute"]],
  [["mute", "alice", "--bogus"]],
  [["mute", "alice", "--for", "abc"]],
  [["mute", "alice", "--for", "0s"], /--for must be at least 1s/],
  [["unmute"]],
  [["unmute", "alice", "--bogus"]],
  [["unmute", "alice", "bob"]],
  [["config"]],
  [["config", "bogus"]],
  [["config", "get", "--bogus"]],
  [["config", "get", "flood-rate", "extra"]],
  [["config", "set", "flood-rate"], /config set needs a KEY and a VALUE/],
  [["config", "set", "flood-rate", "1", "extra"]],
  [["reload", "--bogus"]],
  [["reload", "now"]],
  [["completion", "fish"]],
  [["completion", "bash", "extra"]],
  [["completion", "--bogus"]],
  [["--bogus", "status"]],
  [["stauts"], /did you mean `status`\?/],
  [["--timeout", "10h", "pause"], /--timeout must be at most 1h/],
  // A NAME or TARGET that can be no account's nor any address is malformed, as a bad duration is.
  [["kick", "al ice"], /kick: "al ice" is not a valid name/],
  [["kick", ""]],
  [["mute", "al ice"], /mute: "al ice" is not a valid name/],
  [["unmute", "x\ty"]],
  [["identities", "remove", "al ice", "--yes"], /identities remove: "al ice" is not a valid name/],
  [["identities", "reset", "alice!"]],
  [["ban", "127.0.0.1/33"], /ban: 127\.0\.0\.1\/33: the prefix length must be 0 to 32/],
  [["ban", "300.1.2.3"], /not a valid IPv4 or IPv6 address/],
  [["ban", "al ice"]],
  [["ban", " "]],
  [["unban", "::1/129"]],
  [["logs", "-n", "1000000"], /-n must be at most 100000/],
  // An unset variable in `--socket "$SOCK"` must not send the command to the default socket's daemon.
  [["identities", "wipe", "--yes", "--socket", ""], /--socket needs a path/],
];

interface State {
  pid: number;
  paused: boolean;
  accounts: string[];
  online: string[];
}

async function state(): Promise<State> {
  const status = await d.status();
  return {
    pid: status.pid,
    paused: status.paused,
    accounts: (await d.rpc<IdentitySummary[]>("identities.list")).map((i) => i.name).sort(),
    online: (await d.who()).map((u) => u.name).sort(),
  };
}

const online: ChatClient[] = [];
let baseline: State;

test.after.always(() => {
  for (const client of online) client.close();
});

/** The command a bad line is about: its first word that is not an option (or the line's first word). */
function commandOf(argv: string[]): string {
  return (
    argv.find((word, i) => !word.startsWith("-") && !["--timeout"].includes(argv[i - 1] ?? "")) ?? argv[0]!
  );
}

const byCommand = new Map<string, [string[], RegExp?][]>();
for (const row of BAD) byCommand.set(commandOf(row[0]), [...(byCommand.get(commandOf(row[0])) ?? []), row]);

test.serial("tsctl usage - the daemon before: two users online, not paused", async (t) => {
  for (const name of ["alice", "bob"]) {
    const client = await ChatClient.connect(d.daemon.chatPort);
    online.push(client);
    await client.register(name, "secret1");
  }
  await online[0]!.announced("bob", "joined");
  baseline = await state();
  t.deepEqual(baseline.online, ["alice", "bob"]);
  t.deepEqual(baseline.accounts, ["alice", "bob"]);
  t.false(baseline.paused);
});

// One test per command, so each stays short however loaded the machine is.
for (const [command, rows] of byCommand) {
  test.serial(
    `tsctl usage - ${command}: a bad option, a missing argument, a malformed value: exit 2, nothing changed`,
    async (t) => {
      for (const [argv, message] of rows) {
        const what = `tsctl ${argv.join(" ")}`;
        const result = await d.daemon.tsctl(argv);
        t.is(result.code, 2, `${what}: ${result.stderr}`);
        t.is(result.stdout, "", what);
        t.regex(result.stderr, /^tsctl: [^\n]+\n$/, `${what}: one line on stderr`);
        if (message) t.regex(result.stderr, message, what);
        t.deepEqual(await state(), baseline, `${what} changed nothing`);
      }
    },
  );
}

test.serial("tsctl usage - after them all, no announcement, kick or mute reached the users", async (t) => {
  online[1]!.send("still here");
  t.is(await online[0]!.line(/^</), "<bob> still here");
  t.false(online[0]!.all.includes("* server"), "no announcement was made");
});
