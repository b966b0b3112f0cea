/**
 * The reload: what `reload` (tsctl reload) and SIGHUP run, as named steps in this order:
 *
 *   config  the --config file's live options (a broken file changes nothing, and stops the reload)
 *   log     tsd.log reopened (logrotate)
 *   motd    the --motd file read again
 *   tls     the certificate and key read again, when TLS is on
 *
 * Each part of the daemon adds its step with RELOAD_STEPS' name; the runner runs them in that
 * order whatever the order they were added in.
 */

/** The steps' names, in the order they run. */
export const RELOAD_STEPS = ["config", "log", "motd", "tls"] as const;

export type ReloadStepName = (typeof RELOAD_STEPS)[number];

/** One step: its name, and what it does (rejects when it could not). */
export interface ReloadStep {
  name: ReloadStepName;
  run(): Promise<void> | void;
}

/** A reload that did not do all it was asked: which steps failed and why, and what was done. */
export class ReloadFailed extends Error {
  readonly done: string[];
  readonly failed: { step: string; error: Error }[];
  constructor(done: string[], failed: { step: string; error: Error }[]) {
    const why = failed.map(({ step, error }) => `${step}: ${error.message}`).join("; ");
    const rest = done.length > 0 ? ` (reloaded: ${done.join(", ")})` : " (nothing was changed)";
    super(`reload failed: ${why}${rest}`);
    this.name = "ReloadFailed";
    this.done = done;
    this.failed = failed;
  }
}

/**
 * Runs the steps. "config" goes first and alone: when it fails, nothing else is run, so a broken
 * config file changes nothing. The others each run whatever another did. Resolves with the
 * names of the steps done; rejects with ReloadFailed when any failed.
 */
export async function runReload(steps: readonly ReloadStep[]): Promise<string[]> {
  const ordered = [...steps].sort((a, b) => RELOAD_STEPS.indexOf(a.name) - RELOAD_STEPS.indexOf(b.name));
  const done: string[] = [];
  const failed: { step: string; error: Error }[] = [];
  for (const step of ordered) {
    try {
      await step.run();
      done.push(step.name);
    } catch (error) {
      failed.push({ step: step.name, error: error instanceof Error ? error : new Error(String(error)) });
      if (step.name === "config") break;
    }
  }
  if (failed.length > 0) throw new ReloadFailed(done, failed);
  return done;
}
