import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, UNLIMITED_CHAT } from "../helpers/daemon.ts";

test("greeting first - lines sent before the greeting are answered after it, in order", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const c = await ChatClient.connect(daemon.chatPort);
  // A bad name and then a good one, written at once on connect (a paste, or a script with nc).
  c.write("mal\x1b[31mlory\r\nmallory\r\n");
  await c.prompt("new password: ");
  const lines = c.all.split("\r\n");
  t.regex(lines[0]!, /^\* welcome/, "the greeting comes first");
  t.is(lines[1], "login: ! names cannot contain control characters");
  t.is(lines[2], "login: new password: ");
  c.close();
});
