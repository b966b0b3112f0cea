import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, startDaemon, shape } from "../helpers/daemon.ts";

test("identities wipe racing 50 registrations: valid JSON, each registration wholly before or after", async (t) => {
  const daemon = await startDaemon([
    ...shape(2, 2),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
  ]);
  t.teardown(() => daemon.cleanup());
  const names = Array.from({ length: 50 }, (_, i) => `race${i}`);
  const clients = await Promise.all(names.map(() => ChatClient.connect(daemon.chatPort)));
  await Promise.all(
    clients.map(async (c, i) => {
      await c.loginPrompt();
      c.send(names[i]!);
      await c.prompt("new password: ");
      c.send("secret1");
      await c.prompt("repeat password: ");
    }),
  );
  const [wipe] = await Promise.all([
    daemon.tsctl(["identities", "wipe", "--yes", "--json"]),
    ...clients.map(async (c, i) => {
      await new Promise((r) => setTimeout(r, i % 10));
      c.send("secret1");
      await c.line(/^\* \d+ online/);
    }),
  ]);
  t.is(wipe.code, 0, wipe.stderr);
  const removed = JSON.parse(wipe.stdout).removed as number;
  for (const c of clients) c.close();

  const file = JSON.parse(fs.readFileSync(path.join(daemon.stateDir, "identities.json"), "utf8"));
  const kept = Object.values(file.users) as { name: string; password: { hash: string; salt: string } }[];
  t.is(kept.length + removed, 50, "every registration counted once: removed by the wipe or kept after it");
  t.true(
    kept.every((u) => names.includes(u.name) && u.password.hash.length > 0 && u.password.salt.length > 0),
  );
  t.log(`${removed} registered before the wipe, ${kept.length} after`);

  // What the file says is what users meet: kept accounts sign in, wiped ones register anew.
  const keptNames = new Set(kept.map((u) => u.name));
  for (const name of [names[0]!, names[49]!]) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.loginPrompt();
    c.send(name);
    await c.prompt(keptNames.has(name) ? "password: " : "new password: ");
    c.close();
  }
});
