import { JSONRPCErrorException } from "json-rpc-2.0";
import { RpcErrorCode } from "../../../protocol/rpc.ts";
import { MAX_ANNOUNCE_TEXT } from "../../shared/limits.ts";

export function invalidParams(message: string): JSONRPCErrorException {
  return new JSONRPCErrorException(message, RpcErrorCode.invalidParams);
}

/** A method's params as an object: absent or null is none; an array or a scalar is refused. */
export function objectParams(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw invalidParams("params must be an object");
  return params as Record<string, unknown>;
}

/** A text param (a name, a reason, an announcement), at most MAX_ANNOUNCE_TEXT characters. */
export function textParam(params: Record<string, unknown>, name: string, required: true): string;
export function textParam(params: Record<string, unknown>, name: string, required: false): string | undefined;
export function textParam(
  params: Record<string, unknown>,
  name: string,
  required: boolean,
): string | undefined {
  const value = params[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || (required && value.trim() === "") || value.length > MAX_ANNOUNCE_TEXT) {
    throw invalidParams(
      `${name} must be a ${required ? "non-empty " : ""}string of at most ${MAX_ANNOUNCE_TEXT} characters`,
    );
  }
  return value;
}
