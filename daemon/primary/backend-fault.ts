/**
 * BackendFault is a failure of something the daemon depends on (the cluster's Redis) that an
 * operator must expect: a server down, out of memory, a read-only replica. Its message is one
 * sentence for the operator (tsctl prints it as the daemon's answer, the log as its one line),
 * its reason the same in a few words; neither holds the client library's own text, and its stack
 * says nothing useful, so the control socket and the hub log it without one. Anything else that
 * is thrown is a programming error and keeps its stack.
 */
export class BackendFault extends Error {
  /** The fault in a few words ("out of memory (maxmemory)", "connection refused"), for lines that name the server already. */
  readonly reason: string;
  /** The command may have been done all the same (its answer was lost with the connection): tsctl says so. */
  mayHaveRun = false;

  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendFault";
    this.reason = reason;
  }
}
