import { type PathEnv, resolveSocketPath } from "../protocol/paths.ts";

/** Where the systemd unit's daemon listens ($RUNTIME_DIRECTORY is /run/tsd for the service only). */
export const SERVICE_SOCKET = "/run/tsd/control.sock";

/**
 * socketCandidates lists the control sockets tsctl tries, in order: the one control.md's rules
 * give, then the service's. An operator's shell (sudo, runuser, a non-login shell) has none of
 * the service's environment, so the rules alone point at a per-user socket where nothing runs.
 * A path the operator named (--socket, TSD_SOCKET) is the only one tried.
 */
export function socketCandidates(flag: string | undefined, pe: PathEnv): string[] {
  const first = resolveSocketPath(flag, pe);
  const named = Boolean(flag || pe.env.TSD_SOCKET);
  if (named || pe.platform === "win32" || first === SERVICE_SOCKET) return [first];
  return [first, SERVICE_SOCKET];
}
