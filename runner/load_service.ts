/**
 * Loads what `twine-serve MODULE` serves: a built-in service by name, or a module file whose
 * default export is a `Factory` or a {@link ServiceMaker}; every way that can fail is one line
 * naming the file, with the exit status a command should use.
 *
 * @module
 */
import process from "node:process";
import type { Factory } from "../src/transport/factory.ts";
import { granted } from "./deno_permissions.ts";
import type { MakerOption, ServiceMaker } from "./service_maker.ts";
import { BUILTIN_SERVICES } from "./services/builtins.ts";

/** Why a service could not be loaded: one line, and the exit status (2: the command line or module is wrong; 1: the module failed). */
export class LoadServiceError extends Error {
  /** 2 for a missing or malformed module, 1 for one that threw while it was evaluated. */
  readonly status: 1 | 2;

  /**
   * @param message One line naming the module and what was wrong.
   * @param status The exit status.
   * @param options `cause`: what the runtime threw.
   */
  constructor(message: string, status: 1 | 2, options?: ErrorOptions) {
    super(message, options);
    this.name = "LoadServiceError";
    this.status = status;
  }
}

/** A service ready to be asked for its options and made. */
export interface LoadedService {
  /** The maker; a module exporting a factory gets one that returns it. */
  readonly maker: ServiceMaker;
  /** How the command line named it: `echo`, `examples/chat.ts`. */
  readonly name: string;
  /** The module's absolute path; undefined for a built-in service. */
  readonly path: string | undefined;
}

/** Options of {@link loadService}. */
export interface LoadServiceOptions {
  /** Option names the maker may not use: the command's own. */
  readonly reserved?: readonly string[];
  /**
   * Where a relative path starts.
   * @default process.cwd()
   */
  readonly cwd?: string;
}

const PATH_LIKE = /\/|\.(ts|mts|js|mjs)$/;

/**
 * Whether `spec` names a file rather than a built-in service: it has a `/` or a module's extension.
 *
 * @param spec What the command line gave.
 * @returns Whether it is a path.
 */
export function looksLikePath(spec: string): boolean {
  return PATH_LIKE.test(spec);
}

function oneLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

/** The message of what the runtime threw when importing, if it says the module (or one it imports) cannot be compiled or found. */
function loadProblem(error: unknown): string | undefined {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    stack?: string;
    position?: { file?: string; line?: number; column?: number } | null;
  } | null;
  const message = String(e?.message ?? error);
  // Bun: BuildMessage for a syntax error, ResolveMessage for an import it cannot find.
  if (e?.name === "BuildMessage") {
    const p = e.position;
    const at = p?.file !== undefined && p.line !== undefined ? ` (${p.file}:${p.line}:${p.column ?? 0})` : "";
    return `syntax error: ${oneLine(message)}${at}`;
  }
  if (e?.name === "ResolveMessage") return oneLine(message);
  // Deno: a module it imports lies outside what --allow-read grants.
  const denied = /^Requires (\w+) access to "([^"]+)", run again with the (--allow-\w+) flag/.exec(message);
  if (denied !== null) return `${denied[1]} access to ${denied[2]} denied; run deno with ${denied[3]}`;
  // Deno wraps a syntax error in a TypeError whose message starts with it, the place on a later line.
  const deno = /^SyntaxError: ([^\n]*)[\s\S]*?\n\s+at (\S+:\d+:\d+)/.exec(message);
  if (e?.name === "TypeError" && deno !== null) return `syntax error: ${deno[1]} (${deno[2]})`;
  if (e?.name === "TypeError" && /^Module not found/.test(message)) return oneLine(message.replace(/\u001b\[[0-9;]*m/g, ""));
  if (e?.code === "ERR_UNKNOWN_FILE_EXTENSION" && /"\.[mc]?ts"/.test(message)) {
    return "this Node cannot run TypeScript (Node 22.18 or later can): write the module as .js";
  }
  if (e?.code === "ERR_UNKNOWN_FILE_EXTENSION") return oneLine(message);
  if (e?.code === "ERR_MODULE_NOT_FOUND" || e?.code === "ERR_UNSUPPORTED_DIR_IMPORT") return oneLine(message);
  if (e?.name === "SyntaxError") {
    // Node: a compile error (its stack has no frame of the module's own code), not a SyntaxError the module threw.
    const stack = String(e.stack ?? "");
    const compiled = e.code === "ERR_INVALID_TYPESCRIPT_SYNTAX" || !/\n\s+at .*file:\/\//.test(stack) || /compileSourceTextModule|moduleStrategy/.test(stack);
    if (compiled) {
      const where = /^(\/\S+:\d+)\n/.exec(stack)?.[1];
      // An ES module in a package whose package.json says (or, made by npm init -y, defaults to) CommonJS.
      const hint = /Cannot use import statement outside a module/.test(message)
        ? '; set "type": "module" in its package.json or name it .mts/.mjs'
        : "";
      return `syntax error: ${oneLine(message)}${where === undefined ? "" : ` (${where})`}${hint}`;
    }
  }
  return undefined;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return `the function ${value.name || "(anonymous)"}`;
  if (typeof value === "object") return `an object (${(value as object).constructor?.name ?? "no prototype"})`;
  return `${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}`;
}

function isFactory(value: unknown): value is Factory {
  return typeof (value as Factory | null)?.buildProtocol === "function";
}

function checkMaker(value: Record<string, unknown>, where: string, reserved: readonly string[]): ServiceMaker {
  if (typeof value.description !== "string") {
    throw new LoadServiceError(`${where}: its service maker has no description (a string)`, 2);
  }
  if (value.options !== undefined && (typeof value.options !== "object" || value.options === null)) {
    throw new LoadServiceError(`${where}: its service maker's options must be an object of options by name`, 2);
  }
  for (const [name, option] of Object.entries((value.options ?? {}) as Record<string, MakerOption>)) {
    if (reserved.includes(name)) throw new LoadServiceError(`${where}: its option --${name} is one of twine's own`, 2);
    if (option?.type !== "string" && option?.type !== "boolean") {
      throw new LoadServiceError(`${where}: its option --${name} needs a type, "string" or "boolean"`, 2);
    }
    if (typeof option.description !== "string") throw new LoadServiceError(`${where}: its option --${name} needs a description`, 2);
    if (option.short !== undefined && reserved.includes(option.short)) {
      throw new LoadServiceError(`${where}: its option -${option.short} is one of twine's own`, 2);
    }
  }
  return value as unknown as ServiceMaker;
}

/** The service maker a module's default export stands for, or a one-line reason it stands for none. */
function makerOf(exported: unknown, where: string, reserved: readonly string[]): ServiceMaker {
  if (isFactory(exported)) return { description: "", makeFactory: () => exported };
  if (typeof exported === "object" && exported !== null) {
    const m = exported as Record<string, unknown>;
    if (typeof m.makeFactory === "function" || typeof m.makeService === "function") return checkMaker(m, where, reserved);
  }
  if (typeof exported === "function") {
    const proto = (exported as { prototype?: Record<string, unknown> }).prototype;
    // The most common slip: the class itself instead of a factory for it.
    if (typeof proto?.dataReceived === "function" || typeof proto?.makeConnection === "function") {
      throw new LoadServiceError(
        `${where}: its default export is the Protocol class ${exported.name}, not a factory (export default Factory.forProtocol(${exported.name}))`,
        2,
      );
    }
    if (typeof proto?.buildProtocol === "function") {
      throw new LoadServiceError(`${where}: its default export is the Factory class ${exported.name}, not a factory (export default new ${exported.name}())`, 2);
    }
  }
  throw new LoadServiceError(
    `${where}: its default export is ${kindOf(exported)}, not a Factory or a service maker ({ description, makeFactory })`,
    2,
  );
}

/**
 * Loads a service: a built-in one (`echo`, `discard`, `chargen`, `daytime`) unless `spec` looks like a path
 * (has a `/`, or ends in `.ts`, `.mts`, `.js` or `.mjs`), else the module at `spec`, relative to the working
 * directory and imported by file URL.
 *
 * @param spec The service's name or the module's path.
 * @param options Option names the maker may not take, and where relative paths start.
 * @returns The maker, and how the service was named.
 * @throws {LoadServiceError} With status 2 for an unknown name, a missing file, a syntax error, no default export,
 * a default export of the wrong type or a maker option that clashes with `reserved`; status 1 if the module threw
 * while it was evaluated (the promise rejects).
 * @example
 * ```ts
 * import { loadService } from "./load_service.ts";
 * const { maker } = await loadService("echo");
 * console.log(maker.description);
 * ```
 */
export async function loadService(spec: string, options: LoadServiceOptions = {}): Promise<LoadedService> {
  const reserved = options.reserved ?? [];
  if (!looksLikePath(spec)) {
    const builtin = BUILTIN_SERVICES[spec];
    if (builtin === undefined || !Object.hasOwn(BUILTIN_SERVICES, spec)) {
      const names = Object.keys(BUILTIN_SERVICES).join(", ");
      throw new LoadServiceError(`Cannot load '${spec}': no such service (built in: ${names}); a module's path needs a / or an extension, e.g. ./${spec}.ts`, 2);
    }
    return { maker: builtin, name: spec, path: undefined };
  }
  // Loaded here, for a module's path only: node:fs alone takes Deno milliseconds to load, and a built-in needs none of them.
  const [{ existsSync, statSync }, { resolve }, { pathToFileURL }] = await Promise.all([import("node:fs"), import("node:path"), import("node:url")]);
  const path = resolve(options.cwd ?? process.cwd(), spec);
  const where = `Cannot load ${spec}`;
  if (!granted("read", path)) throw new LoadServiceError(`${where}: read access denied; run deno with --allow-read`, 2);
  if (!existsSync(path)) throw new LoadServiceError(`${where}: no such file`, 2);
  if (statSync(path).isDirectory()) throw new LoadServiceError(`${where}: it is a directory, not a module file`, 2);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const problem = loadProblem(error);
    if (problem !== undefined) throw new LoadServiceError(`${where}: ${problem}`, 2, { cause: error });
    const e = error as { name?: string; message?: string } | null;
    const what = e instanceof Error ? `${e.name}: ${oneLine(String(e.message))}` : String(error);
    throw new LoadServiceError(`${where}: it threw ${what}`, 1, { cause: error });
  }
  if (!("default" in module)) {
    throw new LoadServiceError(`${where}: it has no default export (export default a Factory or a service maker)`, 2);
  }
  const maker = makerOf(module.default, where, reserved);
  return { maker, name: spec, path };
}
