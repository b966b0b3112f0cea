/** The daemon cannot start: the message is one sentence for the operator, and it exits 1. */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}
