import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { shape, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

// Two processes of two threads: users land on different threads, so every row is checked across the hub.
// No flood control: one test types 100 /ignore lines in a row.
const d = useDaemon(test, [...shape(2, 2), ...UNLIMITED_CHAT]);

/**
 * The next line that is not someone else joining or leaving (users of other tests come and go,
 * one by one or, in a storm, in combined lines: `* 12 left: a, b, ...`).
 */
const answer = (c: ChatClient) => c.line(/^(?!\* (\S+ (joined|left)( \(|$)|\d+ (joined|left): ))/);

/**
 * Resolves once `to` has been sent every line the hub had for it when `from` said a fresh marker:
 * the hub handles each link's messages in order and each thread gets its lines in order, so a line
 * that has not reached `to` by then was never sent to it.
 */
async function settled(from: ChatClient, fromName: string, to: ChatClient): Promise<string> {
  const marker = `sync-${Math.random().toString(36).slice(2)}`;
  from.send(marker);
  return to.line(`<${fromName}> ${marker}`);
}

/** The lines `c` received since its last consumed line, up to and including the next settle marker. */
async function linesUntilSettled(from: ChatClient, fromName: string, to: ChatClient): Promise<string[]> {
  const before = to.unread;
  await settled(from, fromName, to);
  return (before + to.unread).split("\r\n");
}

async function signInAgain(name: string): Promise<ChatClient> {
  const c = await d.client();
  await c.signIn(name, "secret1");
  return c;
}

test.serial("help - lists /reply (/r), /away, /whois, /ignore and /unignore", async (t) => {
  const c = await d.user("helen");
  c.send("/help");
  const lines: string[] = [];
  for (;;) {
    const line = await answer(c);
    lines.push(line);
    if (line.startsWith("* //text")) break;
  }
  for (const row of [
    "/reply TEXT (or /r)",
    "/away [TEXT]",
    "/whois NAME",
    "/ignore [NAME]",
    "/unignore NAME",
  ])
    t.true(
      lines.some((line) => line.startsWith(`* ${row} - `)),
      row,
    );
});

test.serial(
  "reply - answers whoever last sent a private message; nobody, or gone, is an error",
  async (t) => {
    const ann = await d.user("ann");
    const ben = await d.user("ben");
    const cal = await d.user("cal");
    ann.send("/r anyone?");
    t.is(await answer(ann), "! nobody to reply to");
    ann.send("/reply anyone?");
    t.is(await answer(ann), "! nobody to reply to", "/reply and /r are one command");

    ben.send("/msg ann first");
    t.is(await answer(ben), "-> *ann* first");
    cal.send("/msg ANN second");
    t.is(await answer(cal), "-> *ann* second");
    t.is(await ann.line(/^\*cal\* /), "*cal* second");
    ann.send("/r back at you");
    t.is(await answer(ann), "-> *cal* back at you", "the last sender, not the first");
    t.is(await cal.line(/^\*ann\* /), "*ann* back at you");
    ann.send("/r");
    t.regex(await answer(ann), /^! usage: \/reply TEXT/);

    cal.send("/quit");
    await ann.announced("cal", "left");
    ann.send("/r still there?");
    t.is(await answer(ann), "! no such user online: cal", "the other user left: as /msg to someone offline");
  },
);

test.serial(
  "ignore - bad input: yourself, an unknown name, an invalid name, unignore of a stranger",
  async (t) => {
    const ivy = await d.user("ivy");
    ivy.send("/ignore IVY");
    t.is(await answer(ivy), "! you cannot ignore yourself");
    ivy.send("/ignore nosuchperson");
    t.is(await answer(ivy), "! no such user: nosuchperson");
    ivy.send("/ignore bad!name");
    t.is(await answer(ivy), "! no such user: bad!name");
    ivy.send("/ignore two words");
    t.regex(await answer(ivy), /^! usage: \/ignore \[NAME\]/);
    ivy.send("/unignore nosuchperson");
    t.is(await answer(ivy), "! you are not ignoring nosuchperson");
    ivy.send("/unignore");
    t.regex(await answer(ivy), /^! usage: \/unignore NAME/);
    ivy.send("/ignore");
    t.is(await answer(ivy), "* you ignore nobody");
  },
);

test.serial(
  "ignore - chat, /me and /msg from NAME are not shown; NAME is not told; kept across sign-ins; /unignore",
  async (t) => {
    const olga = await d.user("olga");
    const pest = await d.user("pest");
    const sam = await d.user("sam");
    pest.send("before the ignore");
    await olga.line("<pest> before the ignore");

    olga.send("/ignore Pest");
    t.is(await answer(olga), "* ignoring pest (they are not told)", "the account's own spelling");
    olga.send("/ignore pest");
    t.is(await answer(olga), "* already ignoring pest");

    pest.send("can you hear me");
    pest.send("/me waves");
    pest.send("/msg olga psst");
    t.is(await pest.line(/^-> /), "-> *olga* psst", "the sender sees a private message sent as usual");
    // Sam, not ignored, still gets pest's lines.
    await sam.line("<pest> can you hear me");
    await sam.line("* pest waves");
    const seen = await linesUntilSettled(sam, "sam", olga);
    t.false(
      seen.some(
        (line) => line.includes("pest") && !line.startsWith("* ignoring") && !line.startsWith("* already"),
      ),
      `nothing from pest reached olga: ${JSON.stringify(seen)}`,
    );
    olga.send("/r hello?");
    t.is(await answer(olga), "! nobody to reply to", "an ignored private message is not a /reply target");
    olga.send("/ignore");
    t.is(await answer(olga), "* ignoring 1: pest");

    // Kept with the account: a new sign-in (here a takeover) still ignores pest, in the replay too.
    const again = await signInAgain("olga");
    await olga.line("* signed in from elsewhere");
    t.false(again.all.includes("<pest> can you hear me"), "the replay leaves out pest's lines");
    t.false(again.all.includes("<pest> before the ignore"), "pest's older lines are hidden too");
    pest.send("after the sign-in");
    await sam.line("<pest> after the sign-in");
    const later = await linesUntilSettled(sam, "sam", again);
    t.false(
      later.some((line) => line.startsWith("<pest>")),
      JSON.stringify(later),
    );

    again.send("/unignore PEST");
    t.is(await answer(again), "* no longer ignoring pest");
    pest.send("hello again");
    t.is(await again.line(/^<pest> /), "<pest> hello again");
    pest.send("/msg olga and privately");
    t.is(await again.line(/^\*pest\* /), "*pest* and privately");
    again.send("/ignore");
    t.is(await answer(again), "* you ignore nobody");
  },
);

test.serial("ignore - at most 100 names; the 101st is refused until one is unignored", async (t) => {
  const names = Array.from({ length: 101 }, (_, i) => `crowd${i}`);
  // Registered 20 at a time; each one closed once it is in.
  for (let i = 0; i < names.length; i += 20)
    await Promise.all(names.slice(i, i + 20).map(async (name) => (await d.user(name)).close()));
  const zoe = await d.user("zoe");
  for (const name of names.slice(0, 100)) {
    zoe.send(`/ignore ${name}`);
    t.is(await answer(zoe), `* ignoring ${name} (they are not told)`);
  }
  zoe.send("/ignore crowd100");
  t.regex(await answer(zoe), /^! you already ignore 100 names/);
  zoe.send("/unignore crowd7");
  t.is(await answer(zoe), "* no longer ignoring crowd7");
  zoe.send("/ignore crowd100");
  t.is(await answer(zoe), "* ignoring crowd100 (they are not told)");
  zoe.send("/ignore");
  t.regex(await answer(zoe), /^\* ignoring 100: crowd0, crowd1, crowd10, /);
});

test.serial(
  "away - marks and clears; a /msg tells its sender; /who shows (away); sign-in shows it too",
  async (t) => {
    const al = await d.user("al");
    const bo = await d.user("bo");
    al.send("/away");
    t.is(await answer(al), "* you were not away");
    al.send("/away out to lunch");
    t.is(await answer(al), "* you are marked away: out to lunch");
    bo.send("/msg al are you there?");
    t.is(await answer(bo), "-> *al* are you there?");
    t.is(await answer(bo), "* al is away: out to lunch");
    t.is(await al.line(/^\*bo\* /), "*bo* are you there?", "the message is still delivered");
    bo.send("/who");
    t.regex(await bo.line(/^\* \d+ online: /), /(^|, |: )al \(away\)(, |$)/);
    // The operator sees it too: users.list's away, and tsctl who's AWAY column.
    const users = await d.rpc<{ name: string; away: string | null }[]>("users.list");
    t.is(users.find((u) => u.name === "al")?.away, "out to lunch");
    t.is(users.find((u) => u.name === "bo")?.away, null);
    const who = await d.daemon.tsctl(["who"]);
    t.regex(who.stdout, /^NAME\s+ADDRESS\s+SINCE\s+WORKER\s+THREAD\s+AWAY$/m);
    t.regex(who.stdout, /^al\s.*\sout to lunch$/m);
    const cy = await d.user("cy");
    t.regex(cy.all, /\* \d+ online: .*al \(away\).*/, "the sign-in's online list shows it too");
    al.send("/away");
    t.is(await answer(al), "* you are back");
    bo.send("/msg al back?");
    t.is(await answer(bo), "-> *al* back?");
    bo.send("/who");
    const online = await bo.line(/^\* \d+ online: /);
    t.false(online.includes("(away)"), online);
  },
);

test.serial(
  "whois - online since, idle for, away text; offline: last signed in; unknown or invalid: no such user",
  async (t) => {
    const wu = await d.user("wu");
    const vic = await d.user("vic");
    vic.send("/away reading");
    await vic.line(/^\* you are marked away/);
    wu.send("/whois VIC");
    t.regex(await answer(wu), /^\* vic is online since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ seconds?\)$/);
    t.regex(await answer(wu), /^\* vic is idle for \d+ seconds?$/);
    t.is(await answer(wu), "* vic is away: reading");

    wu.send("/whois nobody-here");
    t.is(await answer(wu), "! no such user: nobody-here");
    wu.send("/whois a/b");
    t.is(await answer(wu), "! no such user: a/b", "a name that is not valid");
    wu.send("/whois");
    t.regex(await answer(wu), /^! usage: \/whois NAME/);

    const dee = await d.user("dee");
    dee.send("/quit");
    // Gone (not by its notice: an earlier test's crowd still leaving may fold it into "N left: ... and K more").
    await waitFor(async () => !(await d.who()).some((u) => u.name === "dee"), 15_000, "dee to leave");
    // The sign-in is written to the identity file within about a second (sign-ins are batched).
    const offline = await waitFor(
      async () => {
        wu.send("/whois dee");
        const line = await answer(wu);
        return line.includes("last signed in") ? line : null;
      },
      15_000,
      "dee's sign-in in the identity file",
    );
    t.regex(
      offline,
      /^\* dee is offline; last signed in \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ seconds? ago\)$/,
    );
  },
);
