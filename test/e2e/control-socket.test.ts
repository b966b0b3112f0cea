import net from "node:net";
import test from "ava";
import { type RunningDaemon, startDaemon } from "../helpers/daemon.ts";

let daemon: RunningDaemon;

test.before(async () => {
  daemon = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"]);
});
test.after.always(async () => {
  await daemon?.cleanup();
});

/** Sends raw bytes on a fresh control connection and collects the answer lines until count lines or close. */
function raw(data: string | Buffer, count: number): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(daemon.socket);
    let text = "";
    let closed = false;
    const timer = setTimeout(() => finish(), 5000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const complete = text.slice(0, text.lastIndexOf("\n") + 1);
      resolve({
        lines: complete
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
        closed,
      });
    };
    socket.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.split("\n").length - 1 >= count) finish();
    });
    socket.on("close", () => {
      closed = true;
      finish();
    });
    socket.on("error", reject);
    socket.write(data);
  });
}

test("control socket - status by hand over newline-delimited JSON-RPC", async (t) => {
  const { lines } = await raw('{"jsonrpc":"2.0","id":1,"method":"status"}\n', 1);
  const answer = lines[0] as { id: number; result: { pid: number; workers: unknown[] } };
  t.is(answer.id, 1);
  t.is(answer.result.pid, daemon.proc.pid ?? -1);
  t.is(answer.result.workers.length, 1);
});

test("control socket - garbage gets -32700 and the connection still answers", async (t) => {
  const { lines } = await raw('this is not json\n{"jsonrpc":"2.0","id":2,"method":"status"}\n', 2);
  t.is((lines[0] as { error: { code: number } }).error.code, -32700);
  t.is((lines[1] as { id: number }).id, 2);
});

test("control socket - unknown method -32601, wrong params -32602", async (t) => {
  const { lines } = await raw(
    '{"jsonrpc":"2.0","id":1,"method":"nope"}\n{"jsonrpc":"2.0","id":2,"method":"stop","params":{"graceMs":"x"}}\n',
    2,
  );
  const byId = new Map(
    (lines as { id: number; error: { code: number } }[]).map((l) => [l.id, l.error.code] as const),
  );
  t.is(byId.get(1), -32601);
  t.is(byId.get(2), -32602);
});

test("control socket - a batch of 1,000 requests gets 1,000 answers", async (t) => {
  const batch = Array.from({ length: 1000 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "status" }));
  const { lines } = await raw(`${JSON.stringify(batch)}\n`, 1);
  const answers = lines[0] as { id: number }[];
  t.is(answers.length, 1000);
  t.deepEqual(new Set(answers.map((a) => a.id)).size, 1000);
});

test("control socket - a line over 1 MiB gets an error and the connection is closed; the daemon carries on", async (t) => {
  const { lines, closed } = await raw(Buffer.alloc(2 * 1024 * 1024, 0x61), 2);
  t.true(closed);
  t.true((lines[0] as { error: { code: number } }).error.code < 0);
  const again = await raw('{"jsonrpc":"2.0","id":9,"method":"status"}\n', 1);
  t.is((again.lines[0] as { id: number }).id, 9);
});

test("control socket - half a JSON text and a disconnect do not disturb other clients", async (t) => {
  const half = net.connect(daemon.socket);
  await new Promise((r) => half.once("connect", r));
  half.write('{"jsonrpc":"2.0","id":1,"meth');
  half.destroy();
  const { lines } = await raw('{"jsonrpc":"2.0","id":3,"method":"status"}\n', 1);
  t.is((lines[0] as { id: number }).id, 3);
});

test("control socket - an id that is an object or an array gets -32600 with id null; the connection still answers", async (t) => {
  const { lines, closed } = await raw(
    [
      '{"jsonrpc":"2.0","id":{"a":1},"method":"status"}',
      '{"jsonrpc":"2.0","id":[1],"method":"status"}',
      '{"jsonrpc":"2.0","id":4,"method":{"not":"a string"}}',
      '{"jsonrpc":"2.0","id":5,"method":"status"}',
      "",
    ].join("\n"),
    4,
  );
  t.false(closed);
  t.deepEqual(
    (lines as { id: unknown; error?: { code: number } }[]).map((l) => [l.id, l.error?.code ?? "ok"]),
    [
      [null, -32600],
      [null, -32600],
      [4, -32600],
      [5, "ok"],
    ],
  );
});
