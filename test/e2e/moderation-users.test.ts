import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import { RpcFailed, useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, [...MANY_REGISTRATIONS, "--max-per-address", "0"]);

async function ctl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return d.daemon.tsctl(args);
}

async function ok(args: string[]): Promise<string> {
  const r = await ctl(args);
  if (r.code !== 0) throw new Error(`tsctl ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test.serial(
  "moderation - a muted user's chat, /me and /msg get `! you are muted`; nobody else sees a thing; unmute",
  async (t) => {
    const ivy = await d.user("ivy");
    const jack = await d.user("jack");
    const kate = await d.user("kate");
    await ivy.announced("kate", "joined");
    await jack.announced("kate", "joined");
    t.deepEqual(JSON.parse(await ok(["mute", "ivy", "--json"])), { muted: true, until: null });
    ivy.send("hello?");
    t.is(await ivy.next(), "! you are muted");
    ivy.send("/me waves");
    t.is(await ivy.next(), "! you are muted");
    ivy.send("/msg jack psst");
    t.is(await ivy.next(), "! you are muted");
    // Every muted line was answered, so each was handled before kate's: the next line jack sees is kate's.
    kate.send("anyone there?");
    t.is(await jack.next(), "<kate> anyone there?");
    t.is(await ivy.next(), "<kate> anyone there?");
    t.false(/hello\?|waves|psst/.test(jack.all), "jack saw nothing of ivy's");

    t.deepEqual(JSON.parse(await ok(["unmute", "ivy", "--json"])), { muted: false });
    ivy.send("back again");
    t.is(await jack.line(/^<ivy>/), "<ivy> back again");
    t.is(await kate.line(/^<ivy>/), "<ivy> back again");
  },
);

test.serial("moderation - a timed mute says until when and ends by itself", async (t) => {
  const lena = await d.user("lena");
  const mike = await d.user("mike");
  await lena.announced("mike", "joined");
  const before = Date.now();
  const answer = JSON.parse(await ok(["mute", "lena", "--for", "2s", "--json"])) as { until: string };
  t.true(Date.parse(answer.until) >= before + 2000 && Date.parse(answer.until) <= Date.now() + 2000);
  // Refused while the mute holds; on a machine so loaded that its 2 s are over, heard, which is
  // only right past the earliest moment it could end.
  lena.send("am I muted?");
  const first = await Promise.race([
    lena.line(/^! you are muted/, 30_000),
    mike.line("<lena> am I muted?", 30_000),
  ]);
  if (first.startsWith("<lena>")) t.true(Date.now() >= before + 2000, "heard while the mute held");
  else t.regex(first, /^! you are muted \(until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);
  // Poll by speaking: each try is answered (muted) or reaches mike; bounded.
  let tries = 0;
  await waitFor(
    async () => {
      const text = `try ${++tries}`;
      lena.send(text);
      const answered = await Promise.race([
        lena.line(/^! you are muted/, 10_000).then(() => "muted"),
        mike.line(`<lena> ${text}`, 10_000).then(() => "heard"),
      ]);
      return answered === "heard";
    },
    30_000,
    "the mute to end",
  );
  t.true(tries >= 1);
});

test.serial(
  "moderation - mute and unmute of a name with no account are no such account; a bad name is -32602",
  async (t) => {
    for (const method of ["users.mute", "users.unmute"]) {
      const none = await t.throwsAsync(d.rpc(method, { name: "nobody" }), { instanceOf: RpcFailed });
      t.is((none as RpcFailed).code, -32006);
      t.regex(none!.message, /no such account: nobody/);
      const bad = await t.throwsAsync(d.rpc(method, { name: "no body" }), { instanceOf: RpcFailed });
      t.is((bad as RpcFailed).code, -32602);
    }
    const forever = await t.throwsAsync(d.rpc("users.mute", { name: "ivy", forSeconds: 0 }), {
      instanceOf: RpcFailed,
    });
    t.is((forever as RpcFailed).code, -32602);
  },
);

test.serial(
  "moderation - identities remove: the user online is told and closed, others see the leave; offline too; unknown is an error",
  async (t) => {
    const lara = await d.user("lara");
    const max = await d.user("max");
    await lara.announced("max", "joined");
    t.is((await ok(["identities", "remove", "lara", "--yes"])).trim(), "removed lara");
    t.is(await lara.next(), "* your account was removed by the operator");
    await lara.closedByServer();
    t.is(await max.line(/left/), "* lara left");
    const names = (await d.rpc<{ name: string }[]>("identities.list")).map((i) => i.name);
    t.false(names.includes("lara"));

    const nora = await d.user("nora");
    nora.close();
    await waitFor(async () => !(await d.who()).some((u) => u.name === "nora"), 15_000, "nora to leave");
    t.deepEqual(JSON.parse(await ok(["identities", "remove", "nora", "--yes", "--json"])), { removed: true });
    // The name is free again: signing in as nora registers anew.
    const again = await d.client();
    await again.register("nora", "another1");

    const unknown = await ctl(["identities", "remove", "nobody", "--yes"]);
    t.is(unknown.code, 1);
    t.regex(unknown.stderr, /no such account/);
  },
);

test.serial(
  "moderation - identities reset: the one-time password asks for a new one at once; then the new one works and the one-time one does not",
  async (t) => {
    const olga = await d.user("olga", "oldpass1");
    olga.close();
    const reset = await ok(["identities", "reset", "olga"]);
    const oneTime = /^one-time password for olga: (\S+)$/m.exec(reset)?.[1];
    t.truthy(oneTime, reset);

    const first = await d.client();
    await first.loginPrompt();
    first.send("olga");
    await first.prompt("password: ");
    first.send(oneTime!);
    await first.prompt("new password: ");
    // Asked at once: nothing between the password and the new-password prompt but the notice.
    t.regex(
      first.all,
      /password: \* your password was reset by the operator; choose a new one\r\nnew password: $/,
    );
    first.send("newpass1");
    await first.prompt("repeat password: ");
    first.send("newpass1");
    t.is(await first.line(/password changed/), "* password changed");
    t.is(await first.next(), "* welcome back, olga");
    await first.line(/^\* \d+ online: /);
    first.close();

    const withOneTime = await d.client();
    await withOneTime.loginPrompt();
    withOneTime.send("olga");
    await withOneTime.prompt("password: ");
    withOneTime.send(oneTime!);
    t.is(await withOneTime.line(/^!/), "! wrong password");
    withOneTime.send("olga");
    await withOneTime.prompt("password: ");
    withOneTime.send("oldpass1");
    t.is(await withOneTime.line(/^!/), "! wrong password");
    const withNew = await d.client();
    t.regex(await withNew.signIn("olga", "newpass1"), /online/);

    const json = JSON.parse(await ok(["identities", "reset", "olga", "--json"])) as Record<string, string>;
    t.deepEqual(Object.keys(json).sort(), ["name", "oneTimePassword"]);
    t.regex(json.oneTimePassword!, /^[a-z2-9]{14}$/);
    const logged = fs.readFileSync(`${d.daemon.logDir}/tsd.log`, "utf8");
    t.false(
      logged.includes(json.oneTimePassword!) || logged.includes(oneTime!),
      "a password is never logged",
    );
    t.regex(logged, /password reset to a one-time password.*olga.*by=/);
    const unknown = await ctl(["identities", "reset", "nobody"]);
    t.is(unknown.code, 1);
    t.regex(unknown.stderr, /no such account/);
  },
);

test("moderation - a timed mute survives a restart", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await startDaemon([], { dir });
  t.teardown(() => first.cleanup());
  const pia = await ChatClient.connect(first.chatPort);
  await pia.register("pia", "secret1");
  pia.close();
  t.is((await first.tsctl(["mute", "pia", "--for", "1h"])).code, 0);
  t.is((await first.tsctl(["stop"])).code, 0);
  await first.exited;
  const second = await startDaemon([], { dir });
  t.teardown(() => second.cleanup());
  const back = await ChatClient.connect(second.chatPort);
  await back.signIn("pia", "secret1");
  back.send("hello after the restart");
  t.regex(await back.next(), /^! you are muted \(until /);
  back.close();
});

test("moderation - kick, announce and identities wipe are logged with who asked, as bans and mutes are", async (t) => {
  const daemon = await startDaemon([...MANY_REGISTRATIONS, "--no-echo"]);
  t.teardown(() => daemon.cleanup());
  const uma = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => uma.close());
  await uma.register("uma", "secret1");
  for (const args of [
    ["kick", "uma", "spamming"],
    ["announce", "back in five"],
    ["identities", "wipe", "--yes"],
  ]) {
    const r = await daemon.tsctl(args);
    t.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  }
  // Who asked: the client's uid, found through `ss` and /proc where the machine has them (control-peer.ts).
  const whoAsked =
    spawnSync("ss", ["-V"]).status === 0
      ? /by="uid \d+ \(pid \d+ node tsctl\.js\)"/
      : /by="a control client \(uid unknown/;
  const log = path.join(daemon.logDir, "tsd.log");
  const lineOf = (start: RegExp) =>
    (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "").split("\n").find((l) => start.test(l));
  for (const start of [
    / main kick name=uma reason=spamming/,
    / main announcement text=/,
    / main identities wiped /,
  ]) {
    await waitFor(() => lineOf(start) !== undefined, 15_000, `a log line ${start}`);
    t.regex(lineOf(start)!, whoAsked);
  }
});
