import { JSONRPCErrorException } from "json-rpc-2.0";
import { type ConfigValues, RpcErrorCode } from "../../../protocol/rpc.ts";
import { NeedsRestart, type SettingChange, UnknownOption } from "../live-settings.ts";
import { BadOptionValue } from "../options.ts";
import { ReloadFailed } from "../reload.ts";
import type { Serve } from "./control-server.ts";
import { invalidParams, objectParams } from "./params.ts";

/** The options in force and the live ones' changes: config.get, config.set, reload. */
export interface ConfigControl {
  /** Every option in force, or only key's (UnknownOption). */
  configGet(key?: string): ConfigValues;
  /** Sets one live option (UnknownOption, NeedsRestart, BadOptionValue: nothing changed). */
  configSet(key: string, value: unknown): SettingChange;
  /** Runs the reload's steps (reload.ts): the names of those done, or ReloadFailed. */
  reload(): Promise<string[]>;
  /** The restart-only options the config file changes, which a reload leaves as they are. */
  waitingForRestart(): string[];
}

/** The live-settings errors as the control socket answers them. */
function asRpcError(error: unknown): unknown {
  if (error instanceof UnknownOption)
    return new JSONRPCErrorException(error.message, RpcErrorCode.unknownOption);
  if (error instanceof NeedsRestart)
    return new JSONRPCErrorException(error.message, RpcErrorCode.needsRestart);
  if (error instanceof BadOptionValue) return invalidParams(error.message);
  if (error instanceof ReloadFailed)
    return new JSONRPCErrorException(error.message, RpcErrorCode.reloadFailed);
  return error;
}

function keyParam(params: Record<string, unknown>, required: boolean): string | undefined {
  const { key } = params;
  if (key === undefined && !required) return undefined;
  if (typeof key !== "string" || key === "")
    throw invalidParams("key must be an option's name, e.g. flood-rate");
  return key;
}

export function configHandlers(config: ConfigControl) {
  const serveConfigGet: Serve<"config.get"> = (params) => {
    const key = keyParam(objectParams(params), false);
    try {
      return config.configGet(key);
    } catch (error) {
      throw asRpcError(error);
    }
  };

  const serveConfigSet: Serve<"config.set"> = (params) => {
    const given = objectParams(params);
    const key = keyParam(given, true)!;
    if (!Object.hasOwn(given, "value")) throw invalidParams("value is missing");
    try {
      return config.configSet(key, given.value);
    } catch (error) {
      throw asRpcError(error);
    }
  };

  const serveReload: Serve<"reload"> = async () => {
    try {
      const reloaded = await config.reload();
      const waiting = config.waitingForRestart();
      return waiting.length > 0 ? { reloaded, waitingForRestart: waiting } : { reloaded };
    } catch (error) {
      throw asRpcError(error);
    }
  };

  return { serveConfigGet, serveConfigSet, serveReload };
}
