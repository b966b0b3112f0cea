import { JSONRPCErrorException } from "json-rpc-2.0";
import {
  checkRequest,
  errorResponse,
  MAX_ANSWER_BYTES,
  MAX_BATCH,
  RpcErrorCode,
  type RpcId,
  type RpcResponse,
} from "../../../protocol/rpc.ts";
import { CONTROL_MAX_ERROR_MESSAGE } from "../../shared/limits.ts";
import { BackendFault } from "../backend-fault.ts";
import type { ControlConnection, ControlMethod } from "./control-server.ts";

type OnError = (msg: string, meta: Record<string, unknown>) => void;

/** A function that answers one request line: the answer's JSON text, or null when nothing is owed (notifications). */
export type ControlDispatch = (line: string, conn: ControlConnection) => Promise<string | null>;

/**
 * createDispatch answers JSON-RPC 2.0 request lines with the method table. Whatever a method
 * does (throws, rejects, returns what JSON cannot encode or what is too big), the answer is a
 * well-formed line of at most MAX_ANSWER_BYTES plus the small error answers that stand for
 * what did not fit, and the returned promise never rejects. A batch runs its requests one
 * after the other, so it holds at most one unencoded answer at a time.
 */
export function createDispatch(
  methods: Readonly<Record<string, ControlMethod>>,
  onError: OnError,
): ControlDispatch {
  async function respond(value: unknown, conn: ControlConnection): Promise<RpcResponse | null> {
    const checked = checkRequest(value);
    if ("invalid" in checked) return checked.invalid;
    const { id, method, params } = checked.request;
    const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
    let response: RpcResponse;
    if (!handler) {
      response = errorResponse(id ?? null, RpcErrorCode.methodNotFound, "Method not found");
    } else {
      try {
        const result = await handler(params, conn);
        response = { jsonrpc: "2.0", id: id ?? null, result: result ?? null };
      } catch (error) {
        response = failure(id ?? null, method, error);
      }
    }
    return id === undefined ? null : response;
  }

  function failure(id: RpcId, method: string, error: unknown): RpcResponse {
    if (error instanceof JSONRPCErrorException) {
      return errorResponse(id, error.code, cut(error.message), error.data);
    }
    // The cluster's Redis down or refusing writes: expected, so its sentence is the answer and
    // the log's one line; a stack is kept for what is a bug.
    if (error instanceof BackendFault) {
      const sentence = error.mayHaveRun
        ? `${error.message}; what was asked may have been done`
        : error.message;
      onError("control method failed", { method, error: sentence });
      return errorResponse(id, RpcErrorCode.unavailable, cut(sentence));
    }
    onError("control method failed", { method, error: describe(error, true) });
    return errorResponse(id, RpcErrorCode.internal, cut(describe(error, false)));
  }

  /** The answer's text, or the text of the error that stands for it when it cannot be encoded or is over budget. */
  function encode(response: RpcResponse, budget: number, inBatch: boolean): string {
    let text: string;
    try {
      text = JSON.stringify(response);
    } catch (error) {
      onError("control answer could not be encoded", { error: describe(error, false) });
      return JSON.stringify(
        errorResponse(
          response.id,
          RpcErrorCode.internal,
          cut(`the answer could not be encoded: ${describe(error, false)}`),
        ),
      );
    }
    const bytes = Buffer.byteLength(text);
    if (bytes <= budget) return text;
    const room = inBatch
      ? `the ${budget} bytes left for this batch's answers`
      : `the bound of ${budget} bytes`;
    return JSON.stringify(
      errorResponse(
        response.id,
        RpcErrorCode.answerTooLarge,
        `the answer of ${bytes} bytes is over ${room}; ask for less`,
      ),
    );
  }

  return async (line, conn) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return JSON.stringify(errorResponse(null, RpcErrorCode.parseError, "Parse error"));
    }
    if (!Array.isArray(value)) {
      const response = await respond(value, conn);
      return response === null ? null : encode(response, MAX_ANSWER_BYTES, false);
    }
    if (value.length === 0) {
      return JSON.stringify(
        errorResponse(null, RpcErrorCode.invalidRequest, "Invalid Request: an empty batch"),
      );
    }
    if (value.length > MAX_BATCH) {
      return JSON.stringify(
        errorResponse(
          null,
          RpcErrorCode.requestTooLarge,
          `a batch of ${value.length} requests is over the bound of ${MAX_BATCH}; none of it was run`,
        ),
      );
    }
    const parts: string[] = [];
    let used = 2; // the brackets
    for (const item of value) {
      const response = await respond(item, conn);
      if (response === null) continue;
      const text = encode(response, Math.max(0, MAX_ANSWER_BYTES - used - parts.length), true);
      parts.push(text);
      used += Buffer.byteLength(text);
    }
    return parts.length === 0 ? null : `[${parts.join(",")}]`;
  };
}

/** A thrown value as text, without trusting it: its toString or stack getter may throw too. */
function describe(error: unknown, withStack: boolean): string {
  try {
    if (error instanceof Error)
      return withStack ? String(error.stack ?? error.message) : String(error.message);
    return String(error);
  } catch {
    return "an error that cannot be printed";
  }
}

function cut(message: string): string {
  return message.length <= CONTROL_MAX_ERROR_MESSAGE
    ? message
    : `${message.slice(0, CONTROL_MAX_ERROR_MESSAGE)}...`;
}
