/** Compiles the C load generator and ceiling server once, into node_modules/.cache. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import process from "node:process";
import { ROOT } from "../tools/runtimes.ts";

const OUT = `${ROOT}node_modules/.cache/twine-bench`;
/** Written beside a load generator built without OpenSSL's headers. */
const NO_TLS_MARK = `${OUT}/loadgen.no-tls`;

function compile(bin: string, args: string[]): void {
  // Test files build at once in parallel workers: each writes its own file and renames it into place.
  const own = `${bin}.${process.pid}`;
  try {
    execFileSync("cc", ["-O2", "-Wall", "-o", own, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(own, bin);
  } finally {
    rmSync(own, { force: true });
  }
}

function cannotBuild(source: string, error: unknown): Error {
  const stderr = String((error as { stderr?: unknown }).stderr ?? "").split("\n")[0];
  return new Error(`Cannot build ${source} with cc: ${stderr || (error as Error).message}`);
}

/** Whether `bin` is missing or older than any of `sources`. */
function stale(bin: string, sources: string[]): boolean {
  return !existsSync(bin) || sources.some((s) => statSync(`${ROOT}${s}`).mtimeMs > statSync(bin).mtimeMs);
}

function build(source: string, name: string): string {
  const bin = `${OUT}/${name}`;
  if (!stale(bin, [source])) return bin;
  mkdirSync(OUT, { recursive: true });
  try {
    compile(bin, [`${ROOT}${source}`]);
  } catch (error) {
    throw cannotBuild(source, error);
  }
  return bin;
}

/**
 * Builds the load generator with TLS (OpenSSL's libssl) where its headers are installed,
 * and without (`-DNO_TLS`) where they are not, so that a machine without libssl-dev still
 * runs every plain row.
 */
function buildLoadgen(): { bin: string; tls: boolean } {
  const dir = "bench/loadgen/";
  const bin = `${OUT}/loadgen`;
  // A build without TLS is redone once OpenSSL's headers have been installed.
  const gotHeaders = existsSync(NO_TLS_MARK) && existsSync("/usr/include/openssl/ssl.h");
  if (!gotHeaders && !stale(bin, [`${dir}loadgen.c`, `${dir}udp.c`, `${dir}tls.c`, `${dir}tls.h`])) return { bin, tls: !existsSync(NO_TLS_MARK) };
  mkdirSync(OUT, { recursive: true });
  const sources = [`${ROOT}${dir}loadgen.c`, `${ROOT}${dir}tls.c`];
  try {
    compile(bin, [...sources, "-lssl", "-lcrypto"]);
    rmSync(NO_TLS_MARK, { force: true });
    return { bin, tls: true };
  } catch {
    // Most likely no libssl-dev: the plain build below says so if the cause was another.
  }
  try {
    compile(bin, ["-DNO_TLS", ...sources]);
  } catch (error) {
    throw cannotBuild(`${dir}loadgen.c`, error);
  }
  writeFileSync(NO_TLS_MARK, "built without OpenSSL: install libssl-dev for the TLS rows\n");
  return { bin, tls: false };
}

/** @returns Paths of the built load generator and C echo server, and whether the generator speaks TLS. */
export function buildNative(): { loadgen: string; cEcho: string; tls: boolean } {
  const { bin, tls } = buildLoadgen();
  return { loadgen: bin, cEcho: build("bench/bare/c_echo.c", "c_echo"), tls };
}
