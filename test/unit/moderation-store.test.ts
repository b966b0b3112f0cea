import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { parseBanTarget } from "../../protocol/ban-target.ts";
import { Moderation, ModerationListFull } from "../../daemon/primary/hub/moderation.ts";
import { ModerationFileCorrupt } from "../../daemon/primary/hub/moderation-file.ts";
import { MAX_BAN_REASON, MAX_BANS } from "../../daemon/shared/limits.ts";
import { hubLineLimit } from "../../protocol/hub-messages.ts";

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-moderation-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "moderation.json");
}

test("moderation store - bans and mutes are written before they count, and read back", async (t) => {
  const file = tempFile(t);
  let now = 1_000_000;
  const m = await Moderation.open(file, () => now);
  const pushed: string[][] = [];
  m.onAddressBans = (rules) => pushed.push(rules.map((r) => r.target));
  await m.ban(parseBanTarget("10.0.0.0/8"), "net", null);
  await m.ban(parseBanTarget("Bob"), null, 60);
  await m.mute("carol", "Carol", 30);
  t.deepEqual(pushed, [["10.0.0.0/8"], ["10.0.0.0/8"]]);
  t.is(m.addressBan("10.1.2.3")?.reason, "net");
  t.truthy(m.nameBan("bob"));
  t.truthy(m.muteOf("carol"));
  now += 31_000;
  t.is(m.muteOf("carol"), null, "an expired mute stops counting at once");
  await m.close();
  const again = await Moderation.open(file, () => now);
  t.deepEqual(
    again.list().map((b) => b.target),
    ["10.0.0.0/8", "Bob"],
  );
  t.is(again.muteOf("carol"), null, "expired entries are not loaded");
  t.true(await again.unban(parseBanTarget("10.9.9.9/8")));
  t.false(await again.unban(parseBanTarget("10.0.0.0/8")));
  await again.close();
});

test("moderation store - at most MAX_BANS bans; replacing one is not adding one", async (t) => {
  const file = tempFile(t);
  const bans = Array.from({ length: MAX_BANS }, (_, i) => ({
    target: `10.${i >> 8}.${i & 0xff}.1`,
    reason: null,
    createdAt: new Date().toISOString(),
    until: null,
  }));
  fs.writeFileSync(file, JSON.stringify({ version: 1, bans, mutes: [] }));
  const m = await Moderation.open(file);
  t.is(m.list().length, MAX_BANS);
  await t.throwsAsync(m.ban(parseBanTarget("192.0.2.1"), null, null), { instanceOf: ModerationListFull });
  await t.notThrowsAsync(m.ban(parseBanTarget("10.0.0.1"), "again", null));
  t.is(m.addressBan("10.0.0.1")?.reason, "again");
  await m.close();
});

test("moderation store - a file that cannot be used is refused, naming it", async (t) => {
  const file = tempFile(t);
  for (const text of ["not json", '{"version": 2}', '{"version": 1, "bans": [{"target": "x y"}]}']) {
    fs.writeFileSync(file, text);
    const error = await t.throwsAsync(Moderation.open(file), { instanceOf: ModerationFileCorrupt });
    t.true(error!.message.startsWith(file));
  }
});

test("moderation store - every address ban, each with the longest reason, fits one hub message to a thread", (t) => {
  const rules = Array.from({ length: MAX_BANS }, (_, i) => ({
    target: `ffff:ffff:ffff:ffff:ffff:ffff:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}0/127`,
    reason: "€".repeat(MAX_BAN_REASON),
    until: 4_102_444_800_000,
  }));
  const bytes = Buffer.byteLength(`${JSON.stringify({ k: "bans", rules })}\n`);
  t.true(bytes < hubLineLimit(4096), `${bytes} bytes`);
});
