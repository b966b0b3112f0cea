/**
 * Logs an operator can join up: every line about one connection carries its id and the
 * client's port, the hub's sign-in line the same id as the thread's connect line, nothing is
 * logged as null, and the ready line's fields are fields of their own.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon, waitFor } from "../helpers/daemon.ts";

function logText(daemon: RunningDaemon): string {
  return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
}

function logLine(daemon: RunningDaemon, match: RegExp): Promise<string> {
  return waitFor(
    () =>
      logText(daemon)
        .split("\n")
        .find((line) => match.test(line)),
    15_000,
    String(match),
  );
}

test("connection logs - connect, sign-in, refusal and disconnect share the connection's id and carry its port", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), "--max-per-address", "1"]);
  t.teardown(() => daemon.cleanup());
  const alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");
  const port = alice.socket.localPort;

  const connect = await logLine(
    daemon,
    new RegExp(` connect conn=(w\\d+t\\d+-\\d+) address=127\\.0\\.0\\.1 port=${port}$`),
  );
  const conn = / conn=(\S+)/.exec(connect)![1]!;
  await logLine(daemon, new RegExp(` sign-in conn=${conn} name=alice address=127\\.0\\.0\\.1`));

  // A second connection from the address, over --max-per-address 1: refused, with its own id and port.
  const refused = await ChatClient.connect(daemon.chatPort);
  await refused.closedByServer();
  const refusal = await logLine(daemon, / connection refused: too many from this address /);
  t.regex(refusal, / conn=w\d+t\d+-\d+ address=127\.0\.0\.1 port=\d+/);
  t.false(refusal.includes(`conn=${conn} `), "its own id");

  alice.send("/quit");
  await alice.closedByServer();
  const disconnect = await logLine(daemon, new RegExp(` disconnect conn=${conn} `));
  t.regex(disconnect, new RegExp(`address=127\\.0\\.0\\.1 port=${port} name=alice reason=`));

  const log = logText(daemon);
  t.false(/=null\b/.test(log), "no field logged as null");
  t.false(/=undefined\b/.test(log), "nor as undefined");
});

test("connection logs - a connection that never signs in has no name field; echo connections have ids too", async (t) => {
  const daemon = await startDaemon([...shape(1, 1)]);
  t.teardown(() => daemon.cleanup());
  const c = await ChatClient.connect(daemon.chatPort);
  await c.loginPrompt();
  c.close();
  const disconnect = await logLine(daemon, / disconnect conn=/);
  t.false(disconnect.includes("name="), disconnect);

  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(daemon.echoPort, "127.0.0.1", () => socket.end("x"));
    socket.on("close", () => resolve());
    socket.on("error", reject);
    socket.resume();
  });
  await logLine(daemon, / echo connect conn=w1t1-\d+ address=127\.0\.0\.1 port=\d+$/);
  await logLine(daemon, / echo disconnect conn=w1t1-\d+ address=127\.0\.0\.1 port=\d+$/);
});

test("connection logs - the ready line's fields are fields of the record, in text and in JSON", async (t) => {
  const text = await startDaemon([...shape(1, 1)]);
  t.teardown(() => text.cleanup());
  const ready = await logLine(text, / ready /);
  t.regex(
    ready,
    / ready chat=127\.0\.0\.1:\d+ echo=127\.0\.0\.1:\d+ control=\S+ pid=\d+ workers=1 threads=1$/,
  );
  t.false(ready.includes('"'), "nothing quoted");

  const json = await startDaemon([...shape(1, 1), "--log-format", "json"]);
  t.teardown(() => json.cleanup());
  const line = await logLine(json, /"message":"ready"/);
  const record = JSON.parse(line) as Record<string, unknown>;
  t.is(record.chat, `127.0.0.1:${json.chatPort}`);
  t.is(record.workers, "1");
  t.is(typeof record.control, "string");
});
