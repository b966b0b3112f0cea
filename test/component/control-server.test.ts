/**
 * The control server on a real Unix socket with a method table made to misbehave: whatever a
 * method does, its client gets an answer and the server goes on (control.md: no request can
 * end the daemon). Before this, a result JSON could not encode threw inside a promise nothing
 * caught, which ends a Node process.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { type ControlMethod, createControlServer } from "../../daemon/primary/control/control-server.ts";
import { MAX_ANSWER_BYTES, RpcErrorCode } from "../../protocol/rpc.ts";
import { tempDir } from "../helpers/daemon.ts";

const circular: Record<string, unknown> = {};
circular.self = circular;

const methods: Record<string, ControlMethod> = {
  bigint: () => ({ n: 1n }),
  circular: () => circular,
  echo: (params) => params ?? null,
  huge: () => "x".repeat(MAX_ANSWER_BYTES + 1),
  rejects: async () => {
    throw new Error("rejected on purpose");
  },
  throws: () => {
    throw new Error("thrown on purpose");
  },
  throwsUnprintable: () => {
    throw {
      toString() {
        throw new Error("no");
      },
    };
  },
};

const logged: string[] = [];
let socketPath: string;
let server: net.Server;

test.before(async () => {
  const dir = tempDir();
  socketPath = path.join(dir, "control.sock");
  server = createControlServer(methods, (msg) => logged.push(msg));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
test.after.always(() => {
  server?.close();
  fs.rmSync(path.dirname(socketPath), { recursive: true, force: true });
});

/** Writes the request lines on one connection and resolves with the first count answers. */
function exchange(lines: string[], count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`fewer than ${count} answers in 10 s: ${text.slice(0, 500)}`));
    }, 10_000);
    socket.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      const complete = text.split("\n").slice(0, -1);
      if (complete.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve(complete.slice(0, count).map((l) => JSON.parse(l)));
      }
    });
    socket.on("error", reject);
    socket.write(lines.map((l) => `${l}\n`).join(""));
  });
}

const call = (id: unknown, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params });

test("control server - a method that throws, rejects or returns what JSON cannot encode answers -32603; the connection goes on", async (t) => {
  const names = ["throws", "rejects", "throwsUnprintable", "bigint", "circular"];
  const answers = (await exchange(
    [...names.map((m, i) => call(i, m)), call("last", "echo", { ok: 1 })],
    6,
  )) as {
    id: unknown;
    error?: { code: number; message: string };
    result?: unknown;
  }[];
  for (const [i, name] of names.entries()) {
    t.is(answers[i]!.id, i, name);
    t.is(answers[i]!.error?.code, RpcErrorCode.internal, name);
  }
  t.regex(answers[0]!.error!.message, /thrown on purpose/);
  t.regex(answers[3]!.error!.message, /could not be encoded/);
  t.deepEqual(answers[5], { jsonrpc: "2.0", id: "last", result: { ok: 1 } });
  t.true(logged.includes("control method failed"));
});

test("control server - an answer over the bound is replaced by an error that says so", async (t) => {
  const [answer] = (await exchange([call(1, "huge")], 1)) as {
    id: number;
    error: { code: number; message: string };
  }[];
  t.is(answer!.id, 1);
  t.is(answer!.error.code, RpcErrorCode.answerTooLarge);
  t.regex(answer!.error.message, new RegExp(`over the bound of ${MAX_ANSWER_BYTES} bytes`));
});

test("control server - a batch answers every member in order, each failure on its own", async (t) => {
  const batch = `[${call(1, "throws")},${call(2, "echo", [2])},{"jsonrpc":"2.0","method":"echo"},${call(3, "bigint")}]`;
  const [answer] = (await exchange([batch], 1)) as { id: number; error?: { code: number } }[][];
  t.deepEqual(
    answer!.map((a) => [a.id, a.error?.code ?? "ok"]),
    [
      [1, -32603],
      [2, "ok"],
      [3, -32603],
    ],
  );
});
