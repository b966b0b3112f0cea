import test from "ava";
import { checkRequest } from "../../protocol/rpc.ts";

const codeOf = (value: unknown) => {
  const checked = checkRequest(value);
  return "invalid" in checked
    ? [checked.invalid.id, (checked.invalid as { error: { code: number } }).error.code]
    : "ok";
};

test("rpc - checkRequest takes JSON-RPC 2.0 requests and notifications", (t) => {
  t.is(codeOf({ jsonrpc: "2.0", id: 1, method: "status" }), "ok");
  t.is(codeOf({ jsonrpc: "2.0", id: "a", method: "status", params: { x: 1 } }), "ok");
  t.is(codeOf({ jsonrpc: "2.0", id: null, method: "status", params: [1] }), "ok");
  t.is(codeOf({ jsonrpc: "2.0", method: "status" }), "ok");
  t.deepEqual(checkRequest({ jsonrpc: "2.0", id: 1, method: "m", params: null }), {
    request: { id: 1, method: "m", params: undefined },
  });
});

test("rpc - checkRequest refuses other shapes with -32600, echoing only a valid id", (t) => {
  t.deepEqual(codeOf({ jsonrpc: "2.0", id: { a: 1 }, method: "status" }), [null, -32600]);
  t.deepEqual(codeOf({ jsonrpc: "2.0", id: [1], method: "status" }), [null, -32600]);
  t.deepEqual(codeOf({ jsonrpc: "2.0", id: true, method: "status" }), [null, -32600]);
  t.deepEqual(codeOf({ jsonrpc: "1.0", id: 7, method: "status" }), [7, -32600]);
  t.deepEqual(codeOf({ jsonrpc: "2.0", id: 7, method: 5 }), [7, -32600]);
  t.deepEqual(codeOf({ jsonrpc: "2.0", id: 7, method: "m", params: "x" }), [7, -32600]);
  t.deepEqual(codeOf(null), [null, -32600]);
  t.deepEqual(codeOf(42), [null, -32600]);
  t.deepEqual(codeOf("status"), [null, -32600]);
});
