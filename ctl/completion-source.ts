import type { CompletionSource } from "./complete.ts";
import { ControlClient } from "./control-client.ts";

/** How long completion waits for the daemon: a Tab must never hang. */
export const COMPLETION_TIMEOUT_MS = 500;

/** Names and keys from the daemon over a short-lived connection of their own; [] when it does not answer in time. */
export function daemonCompletionSource(
  socketPaths: readonly string[],
  timeoutMs = COMPLETION_TIMEOUT_MS,
): CompletionSource {
  async function ask<T>(read: (client: ControlClient) => Promise<T[]>): Promise<T[]> {
    let client: ControlClient | null = null;
    try {
      client = await ControlClient.connectFirst(socketPaths, timeoutMs);
      return await read(client);
    } catch {
      return [];
    } finally {
      client?.close();
    }
  }
  return {
    userNames: () => ask(async (c) => (await c.call("users.list")).map((u) => u.name)),
    accountNames: () => ask(async (c) => (await c.call("identities.list")).map((i) => i.name)),
    configKeys: () => ask(async (c) => Object.keys(await c.call("config.get", {}))),
  };
}
