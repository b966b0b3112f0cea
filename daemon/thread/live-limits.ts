import type { LiveLimits, ServiceConfig } from "../../protocol/hub-messages.ts";
import type { SessionLimits } from "./chat/chat-session.ts";

/** The limits sessions enforce, from the thread's config. */
export function sessionLimits(config: ServiceConfig): SessionLimits {
  return {
    maxLine: config.maxLine,
    loginTimeoutMs: config.loginTimeoutSeconds * 1000,
    floodBurst: config.floodBurst,
    floodRate: config.floodRate,
    floodQueue: config.floodQueue,
    outputLimit: config.outputLimit,
  };
}

/**
 * Applies a Settings message: the thread's config and the one limits object every session holds
 * by reference are updated in place, so a session already signed in enforces the new values at
 * its next line (config.set, reload).
 */
export function applyLiveLimits(config: ServiceConfig, limits: SessionLimits, update: LiveLimits): void {
  Object.assign(config, update);
  Object.assign(limits, sessionLimits(config));
}
