/**
 * What every adapter does around a Unix socket's file, on `node:fs` and `node:net`
 * (which all three runtimes implement): refuse a path the OS cannot bind, replace a
 * stale socket file but never steal a live one, set its mode, and remove it on close.
 *
 * @module
 */
import { chmodSync, linkSync, lstatSync, renameSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { ListenError } from "../../src/transport/listen_options.ts";

/** The longest path Linux's `sun_path` holds, less its terminating NUL. */
export const MAX_UNIX_PATH_BYTES = 107;

function describeProblem(error: unknown): [code: string, text: string] {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  const code = String(e?.code ?? "");
  const name = String(e?.name ?? "");
  if (code === "EACCES" || name === "PermissionDenied") return ["EACCES", "permission denied (the directory must be writable)"];
  if (code === "EADDRINUSE" || name === "AddrInUse") return ["EADDRINUSE", "address already in use"];
  if (code === "ENOENT" || name === "NotFound") return ["ENOENT", "no such directory"];
  if (code === "ENOTDIR" || name === "NotADirectory") return ["ENOTDIR", "a component of the path is not a directory"];
  if (name === "NotCapable") return ["ENOTCAPABLE", "file access denied; run deno with --allow-read --allow-write"];
  return [code || "ELISTEN", String(e?.message ?? error).split("\n")[0]!];
}

/** Why the directory of `path` cannot hold a socket, when it is missing or not a directory. */
function directoryProblem(path: string): [code: string, text: string] | undefined {
  try {
    statSync(dirname(path));
    return undefined;
  } catch (error) {
    const problem = describeProblem(error);
    return problem[0] === "ENOENT" || problem[0] === "ENOTDIR" ? problem : undefined;
  }
}

/**
 * Turns a runtime's error for a Unix socket into a one-line {@link ListenError}.
 *
 * @param path The socket path.
 * @param error What the runtime threw.
 * @returns The error to throw.
 */
export function unixListenError(path: string, error: unknown): ListenError {
  if (error instanceof ListenError) return error;
  let [code, text] = describeProblem(error);
  // libuv reports bind's ENOENT as EACCES (to match Windows), so Node's node:net says "permission denied"
  // for a directory that does not exist; the directory itself tells which it was.
  if (code === "EACCES") [code, text] = directoryProblem(path) ?? [code, text];
  return new ListenError(`Cannot listen on unix:${path}: ${text}`, code, { cause: error });
}

/** Whether something accepts connections on the socket at `path`. */
async function isLive(path: string): Promise<boolean> {
  // Loaded here: node:net takes milliseconds to load on Bun, and TCP listeners never need it.
  const { default: net } = await import("node:net");
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/**
 * Makes `path` ready to bind: checks its length, and removes a stale socket file left by
 * a dead server. A live socket, or a file that is not a socket, is left alone.
 *
 * @param path The socket path.
 * @throws {ListenError} `ENAMETOOLONG`, `EADDRINUSE` (live server, or not a socket), `EACCES`.
 */
export async function prepareUnixPath(path: string): Promise<void> {
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_UNIX_PATH_BYTES) {
    throw new ListenError(
      `Cannot listen on unix:${path}: path is ${bytes} bytes, longer than the ${MAX_UNIX_PATH_BYTES} the OS allows`,
      "ENAMETOOLONG",
    );
  }
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return;
    throw unixListenError(path, error);
  }
  if (!isSocket) {
    throw new ListenError(`Cannot listen on unix:${path}: a file that is not a socket is in the way`, "EADDRINUSE");
  }
  if (await isLive(path)) {
    throw new ListenError(`Cannot listen on unix:${path}: address already in use by a live server`, "EADDRINUSE");
  }
  try {
    unlinkSync(path);
  } catch (error) {
    throw unixListenError(path, error);
  }
}

/**
 * Sets the socket file's permission bits once it is bound.
 *
 * @param path The socket path.
 * @param mode The permission bits, such as `0o660`.
 * @throws {ListenError} If the mode cannot be set.
 */
export function setUnixMode(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    throw unixListenError(path, error);
  }
}

/**
 * Which file a socket was bound as, so that closing it removes that file and not another
 * server's socket bound on the same path since (a reload's new worker takes the path over).
 *
 * @param path The socket path, just bound.
 * @returns Its device and inode, or undefined if it cannot be read.
 */
export function socketFile(path: string): string | undefined {
  try {
    return fileKey(lstatSync(path));
  } catch {
    return undefined;
  }
}

function fileKey(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

/**
 * Removes the socket file on close; gone already is fine.
 *
 * @param path The socket path.
 * @param file The file it was bound as, from {@link socketFile}: another file at `path` is left alone.
 */
export function removeUnixPath(path: string, file?: string): void {
  try {
    const stat = lstatSync(path);
    if (!stat.isSocket()) return;
    if (file !== undefined && fileKey(stat) !== file) return;
    unlinkSync(path);
  } catch {
    // Removed by someone else, or never made: nothing to clean up.
  }
}

/**
 * Closes a Unix listener and removes its socket file, leaving alone another server's socket
 * bound on the same path since (a reload's new worker): libuv, under Node and Bun's node:net,
 * and Bun's own listener unlink the path they bound whatever is there by then, so that file is
 * kept under a second name across the close and put back. Deno unlinks it later, when the
 * listener's pending accept is dropped (a turn of the event loop after `close()`): there the
 * file is put back only once that unlink has happened.
 *
 * @param path The socket path.
 * @param file The file it was bound as, from {@link socketFile}.
 * @param close Closes the runtime's listener.
 * @param unlinksLater Whether the runtime unlinks the path after `close()` returns (Deno).
 * @default unlinksLater false
 */
export function closeUnixListener(path: string, file: string | undefined, close: () => void, unlinksLater = false): void {
  const now = socketFile(path);
  if (file === undefined || now === undefined || now === file) {
    close();
    removeUnixPath(path, file);
    return;
  }
  const kept = `${path}.reload`;
  let linked = false;
  try {
    linkSync(path, kept);
    linked = true;
  } catch {
    // Cannot keep it: the other server may lose its path, but this one still closes.
  }
  const putBack = () => {
    try {
      renameSync(kept, path);
    } catch {
      // Gone with its server meanwhile.
    }
  };
  try {
    close();
  } finally {
    if (linked && !unlinksLater) putBack();
    // Put back as soon as the runtime's own unlink has run, so that the path is missing for one turn at most.
    else if (linked) waitForUnlink(path, Date.now() + UNLINK_WAIT_MS, putBack);
  }
}

// How long a runtime that unlinks later is given to do it before the file is put back anyway.
const UNLINK_WAIT_MS = 200;

function waitForUnlink(path: string, until: number, then: () => void): void {
  if (socketFile(path) === undefined || Date.now() >= until) then();
  else setTimeout(() => waitForUnlink(path, until, then), 0);
}
