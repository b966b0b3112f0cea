import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { HubLink } from "../../daemon/thread/hub-link.ts";
import { hubLineLimit } from "../../protocol/hub-messages.ts";

/** A stand-in hub on a real Unix socket: hands the test each connection the link makes. */
async function fakeHub(t: {
  teardown(fn: () => void): void;
}): Promise<{ path: string; peer: Promise<net.Socket> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-hub-"));
  const socketPath = path.join(dir, "hub.sock");
  const peer = Promise.withResolvers<net.Socket>();
  const server = net.createServer((socket) => peer.resolve(socket));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { path: socketPath, peer: peer.promise };
}

test("hub link - a message over the link's limit ends the link and says why", async (t) => {
  const hub = await fakeHub(t);
  const lost = Promise.withResolvers<string>();
  const link = new HubLink(
    hub.path,
    4096,
    () => t.fail("no message expected"),
    (reason) => lost.resolve(reason),
  );
  const peer = await hub.peer;
  peer.write(`${JSON.stringify({ k: "deliver", line: "x".repeat(hubLineLimit(4096)), except: null })}\n`);
  t.is(await lost.promise, "message from the hub too large for the link");
  await link.close();
});

test("hub link - an unreadable message ends the link", async (t) => {
  const hub = await fakeHub(t);
  const lost = Promise.withResolvers<string>();
  new HubLink(hub.path, 4096, () => {}, lost.resolve);
  (await hub.peer).write("{not json\n");
  t.is(await lost.promise, "unreadable message from the hub");
});

test("hub link - pings are answered; a reply runs its callback before later messages", async (t) => {
  const hub = await fakeHub(t);
  const order: string[] = [];
  const link = new HubLink(
    hub.path,
    4096,
    (m) => order.push(m.k),
    () => {},
  );
  const peer = await hub.peer;
  const received: string[] = [];
  peer.on("data", (d: Buffer) => received.push(...d.toString().trim().split("\n")));
  const reply = link.request({ k: "who" }, () => order.push("reply"));
  await new Promise((r) => peer.once("data", r));
  // Reply, then a deliver, in one chunk: the reply's callback runs first.
  peer.write(
    `${JSON.stringify({ k: "reply", seq: 1, body: { names: [] } })}\n${JSON.stringify({ k: "deliver", line: "x", except: null })}\n${JSON.stringify({ k: "ping" })}\n`,
  );
  t.deepEqual(await reply, { names: [] });
  t.deepEqual(order, ["reply", "deliver"]);
  await new Promise<void>((resolve) => {
    const check = () => (received.some((l) => l.includes('"pong"')) ? resolve() : peer.once("data", check));
    check();
  });
  await link.close();
});
