/** tsctl's exit codes (control.md). */
export const ExitCode = {
  ok: 0,
  daemonError: 1,
  usage: 2,
  notRunning: 3,
  permissionDenied: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends tsctl with a given exit code and one message on stderr. */
export class CtlError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue, options?: ErrorOptions) {
    super(message, options);
    this.name = "CtlError";
    this.exitCode = exitCode;
  }
}

export class DaemonNotRunning extends CtlError {
  constructor(socketPaths: string | readonly string[], cause: unknown) {
    const tried = typeof socketPaths === "string" ? [socketPaths] : socketPaths;
    super(
      `tsd is not running: nothing answers at ${tried.join(", nor at ")}. Start it with \`npx tsd-daemon\` (or \`systemctl start tsd\`), or point tsctl at its socket with --socket or TSD_SOCKET.`,
      ExitCode.notRunning,
      { cause },
    );
    this.name = "DaemonNotRunning";
  }
}

export class SocketPermissionDenied extends CtlError {
  constructor(socketPath: string, cause: unknown) {
    super(
      `permission denied on ${socketPath}: run tsctl as the daemon's user, or as a member of the group the daemon was given with --socket-group.`,
      ExitCode.permissionDenied,
      { cause },
    );
    this.name = "SocketPermissionDenied";
  }
}

/** The daemon answered with a JSON-RPC error. */
export class DaemonError extends CtlError {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message, ExitCode.daemonError);
    this.name = "DaemonError";
    this.code = code;
  }
}

export class UsageError extends CtlError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = "UsageError";
  }
}

/** --timeout ran out: the daemon took the connection (or not even that) and did not answer in time. */
export class CommandTimedOut extends CtlError {
  constructor(message: string) {
    super(message, ExitCode.daemonError);
    this.name = "CommandTimedOut";
  }
}

/** An error as `--json` prints it on stderr (control.md): code is the daemon's JSON-RPC code, or null for tsctl's own. */
export function errorJson(error: CtlError): string {
  const code = error instanceof DaemonError ? error.code : null;
  return JSON.stringify({ error: { message: error.message, code, exitCode: error.exitCode } });
}
