/** An undo step: graceMs is how long clients get to go (0 when a start fails). */
export type Undo = (graceMs: number) => void | Promise<void>;

/** Some steps of a teardown failed; each was reported as it failed, and the steps after it still ran. */
export class TeardownFailed extends Error {
  readonly steps: string[];
  constructor(steps: string[]) {
    super(`could not undo: ${steps.join(", ")}`);
    this.name = "TeardownFailed";
    this.steps = steps;
  }
}

/**
 * Teardown is the daemon's one list of undo steps. Each start step that leaves something to
 * undo (a lock, a socket, a file, a process) adds its undo as soon as it has succeeded; stop
 * and a start that fails half-way both run the list, newest first, so whatever was started is
 * undone, in the opposite order, and nothing that was not started.
 */
export class Teardown {
  private readonly steps: { name: string; undo: Undo }[] = [];

  add(name: string, undo: Undo): void {
    this.steps.push({ name, undo });
  }

  /** The steps still to run, newest first. */
  get pending(): string[] {
    return this.steps.map((step) => step.name).reverse();
  }

  /**
   * Runs every step once, newest first. A step that throws is reported through onError and the
   * others still run; then it rejects with TeardownFailed naming the failed steps.
   */
  async run(graceMs: number, onError: (step: string, error: unknown) => void): Promise<void> {
    const failed: string[] = [];
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.undo(graceMs);
      } catch (error) {
        failed.push(step.name);
        onError(step.name, error);
      }
    }
    if (failed.length > 0) throw new TeardownFailed(failed);
  }
}
