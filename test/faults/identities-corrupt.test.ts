import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";

const UNAVAILABLE = "! accounts are unavailable right now; try again later";
const REFUSAL_LOGGED = /sign-ins refused: the identity file cannot be used/g;

test("identities corrupt - a file broken while running: sign-ins are told politely and asked again, signed-in users keep chatting; fixed, sign-ins work", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const file = path.join(daemon.stateDir, "identities.json");
  const log = path.join(daemon.logDir, "tsd.log");
  const alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");
  const bob = await ChatClient.connect(daemon.chatPort);
  await bob.register("bob", "secret1");
  const carol = await ChatClient.connect(daemon.chatPort);
  await carol.register("carol", "secret1");
  carol.close();
  // Sign-ins are recorded in the file a second later: let those writes finish first.
  await waitFor(
    () => {
      const users = (
        JSON.parse(fs.readFileSync(file, "utf8")) as { users: Record<string, { lastLoginAt: unknown }> }
      ).users;
      return ["alice", "bob", "carol"].every((k) => users[k]?.lastLoginAt);
    },
    15_000,
    "the sign-ins recorded",
  );
  const good = fs.readFileSync(file);

  // carol is at the password prompt when the file breaks.
  const atPassword = await ChatClient.connect(daemon.chatPort);
  await atPassword.loginPrompt();
  atPassword.send("carol");
  await atPassword.prompt("password: ");

  fs.writeFileSync(file, '{"version": 1, "users": {"alice": ');
  atPassword.send("secret1");
  await atPassword.line(UNAVAILABLE);
  await atPassword.loginPrompt();
  // a known name, and a new one, at the login prompt
  for (const name of ["carol", "dave"]) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.loginPrompt();
    c.send(name);
    await c.line(UNAVAILABLE);
    await c.loginPrompt();
    t.false(c.closed, `${name}: the connection stays open`);
    t.false(c.all.includes("server error"));
    c.close();
  }
  t.false(atPassword.closed);
  t.false(atPassword.all.includes("server error"));

  // Those signed in never notice, not even when one of them tries to change a password.
  alice.send("/passwd");
  await alice.prompt("password: ");
  alice.send("secret1");
  await alice.line(/^! your password could not be changed right now/);
  t.false(alice.closed, "/passwd on a broken file keeps the user signed in");
  alice.send("still here");
  await bob.line("<alice> still here");
  bob.send("/who");
  await bob.line("* 2 online: alice, bob");
  await waitFor(
    () => (fs.readFileSync(log, "utf8").match(REFUSAL_LOGGED) ?? []).length > 0,
    15_000,
    "the log line",
  );
  t.is(
    (fs.readFileSync(log, "utf8").match(REFUSAL_LOGGED) ?? []).length,
    1,
    "told to the operator once, not per sign-in",
  );
  t.is(
    fs.readFileSync(file, "utf8"),
    '{"version": 1, "users": {"alice": ',
    "a broken file is never overwritten",
  );

  // The operator restores it: the waiting connection signs in.
  fs.writeFileSync(file, good);
  atPassword.send("carol");
  await atPassword.prompt("password: ");
  atPassword.send("secret1");
  await atPassword.line("* welcome back, carol");
  await atPassword.line(/^\* 3 online: alice, bob, carol$/);
});
