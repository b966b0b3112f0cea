import test from "ava";
import { shape, spawnDaemon } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, [
  ...shape(2, 2),
  "--no-echo",
  "--max-per-address",
  "0",
  "--registrations-per-hour",
  "0",
  "--reserved-names",
  "moderator, Админ",
]);
const client = () => d.client();
const user = (name: string) => d.user(name);

/** Types a name at `login: `; resolves with the `! ` line, checking a new login prompt follows and no password was asked. */
async function refusedAtLogin(name: string): Promise<string> {
  const c = await client();
  await c.loginPrompt();
  c.send(name);
  const line = await c.next();
  await c.loginPrompt();
  if (c.all.includes("password: ")) throw new Error(`${JSON.stringify(name)} was asked for a password`);
  c.close();
  return line;
}

test.serial(
  "names - an all-Cyrillic look-alike of an existing account is refused at the login prompt",
  async (t) => {
    await user("alice");
    await user("paypal");
    t.is(
      await refusedAtLogin("аӏісе"),
      "! the name аӏісе looks too much like an existing name; pick another",
    );
    t.is(
      await refusedAtLogin("раураӏ"),
      "! the name раураӏ looks too much like an existing name; pick another",
    );
    t.is(
      await refusedAtLogin("АӀІСЕ"),
      "! the name АӀІСЕ looks too much like an existing name; pick another",
    );
    t.is(
      await refusedAtLogin("a1ice"),
      "! the name a1ice looks too much like an existing name; pick another",
    );
    const owner = await client();
    await owner.loginPrompt();
    owner.send("ALICE");
    await owner.prompt("password: ");
    t.pass("the owner's own name, in any case, still signs in");
  },
);

test.serial("names - server and the operator's --reserved-names cannot be registered", async (t) => {
  t.is(await refusedAtLogin("server"), "! the name server is reserved; pick another");
  t.is(await refusedAtLogin("Server"), "! the name Server is reserved; pick another");
  t.is(await refusedAtLogin("moderator"), "! the name moderator is reserved; pick another");
  t.is(await refusedAtLogin("MODERATOR"), "! the name MODERATOR is reserved; pick another");
  t.is(await refusedAtLogin("админ"), "! the name админ is reserved; pick another");
  t.regex(await refusedAtLogin("ѕеrvеr"), /^! that name mixes scripts: /);
});

test.serial("names - invisible characters, stray and stacked marks are refused with the rule", async (t) => {
  const attacks = [
    "ali\u034Fce",
    "alice\uFE0F",
    "alice\u{E0100}",
    "al\u0131\u0307ce",
    "\u3164",
    "\u115F",
    `a${"\u0300".repeat(31)}`,
    `a${"\u0301\u0302\u0303\u0304\u0306\u0308\u030A\u030B\u030C\u0323\u0324\u0325\u0326\u0327\u0328\u032D".repeat(2)}`,
  ];
  for (const name of attacks) {
    t.regex(
      await refusedAtLogin(name),
      /^! that name has (invisible or rarely used characters|stray or stacked accents): names are /,
      JSON.stringify(name),
    );
  }
});

test.serial("names - a legit Cyrillic name still registers", async (t) => {
  const c = await client();
  await c.typeRegistration("маша", "secret1");
  t.is(await c.line(/^\* registered/), "* registered маша");
  t.regex(await c.line(/^\* \d+ online: /), /маша/);
});

test.serial("names - two look-alikes registered at once: the file lock lets one through", async (t) => {
  const latin = await client();
  const cyrillic = await client();
  for (const [c, name] of [
    [latin, "coca"],
    [cyrillic, "соса"],
  ] as const) {
    await c.loginPrompt();
    c.send(name);
    await c.prompt("new password: ");
    c.send("secret1");
    await c.prompt("repeat password: ");
  }
  latin.send("secret1");
  cyrillic.send("secret1");
  const outcomes = await Promise.all(
    [latin, cyrillic].map((c) => c.line(/^(\* registered |! the name .* was just taken; pick another$)/)),
  );
  t.is(outcomes.filter((line) => line.startsWith("* registered ")).length, 1, outcomes.join(" | "));
  t.is(outcomes.filter((line) => line.startsWith("! ")).length, 1, outcomes.join(" | "));
  const loser = outcomes[0]!.startsWith("* registered ") ? "соса" : "coca";
  t.regex(await refusedAtLogin(loser), /looks too much like an existing name/);
});

test("names - a --reserved-names entry that is no valid name is bad usage at start (exit 2), named", async (t) => {
  const bad = spawnDaemon(["--reserved-names", "moderator,ad min"]);
  try {
    t.is((await bad.exited).code, 2);
    t.regex(bad.stderr(), /--reserved-names: "ad min" is not a valid name/);
  } finally {
    await bad.cleanup();
  }
});
