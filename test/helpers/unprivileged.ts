import { spawnSync } from "node:child_process";
import process from "node:process";
import { BINARIES, ROOT } from "../../tools/runtimes.ts";

/** The user a root test run drops to: nobody, as on every Debian-like system. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** How to run a command without root's power to bypass file permissions, or why it cannot be done here. */
export type Unprivileged =
  | { readonly wrap: (command: readonly string[]) => string[]; readonly owner: { uid: number; gid: number } | undefined }
  | { readonly reason: string };

/**
 * Finds how to run a command as a user that file permissions bind: as it is when the tests do not
 * run as root; as nobody through util-linux's `setpriv` when they do, if nobody can reach the
 * runtimes and the project's files.
 *
 * @returns A `wrap` for commands and the owner to give files that user must own, or the reason there is none.
 */
export function unprivileged(): Unprivileged {
  if (process.getuid?.() !== 0) return { wrap: (command) => [...command], owner: undefined };
  const prefix = ["setpriv", `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "--"];
  // The project may sit under a directory only root can enter (a clone in /root, say).
  const probe = spawnSync(prefix[0]!, [...prefix.slice(1), BINARIES.node, "-e", "require('node:fs').accessSync(process.argv[1])", `${ROOT}bin/echo.ts`], {
    cwd: "/",
    stdio: "ignore",
    timeout: 10_000,
  });
  if (probe.error !== undefined) return { reason: "running as root, and setpriv (util-linux) is not installed to drop to nobody" };
  if (probe.status !== 0) return { reason: `running as root, and user nobody cannot read ${ROOT}` };
  return { wrap: (command) => [...prefix, ...command], owner: NOBODY };
}
