/**
 * What every command shares: reading its flags strictly, one-line errors with its name, `--version`.
 *
 * @module
 */
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { VERSION } from "./version.ts";

/** Exit status for a usage error, as BSD's sysexits and most CLIs. */
export const EXIT_USAGE = 2;

/**
 * Prints `command: message` on stderr and exits.
 *
 * @param command The command's name, e.g. `twine-echo`.
 * @param message One line.
 * @param status The exit status.
 * @returns Never.
 */
export function fail(command: string, message: string, status: number): never {
  console.error(`${command}: ${message}`);
  process.exit(status);
}

/**
 * Prints `command VERSION`.
 *
 * @param command The command's name.
 */
export function printVersion(command: string): void {
  console.log(`${command} ${VERSION}`);
}

/** What {@link parseCommandLine} returns. */
export interface CommandLine {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/**
 * Reads a command line strictly; a mistake is one line on stderr naming the command and exit 2.
 *
 * @param command The command's name, for errors.
 * @param argv The arguments.
 * @param options The flags, as `parseArgs` takes them.
 * @param check Says what is wrong with a value that looks like a flag (`--port -1`), by failing; else it is "invalid".
 * @returns The values and positionals.
 */
export function parseCommandLine(
  command: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  check: (option: string, value: string) => void = () => {},
): CommandLine {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    return { values: values as CommandLine["values"], positionals };
  } catch (error) {
    const e = error as { code?: string; message: string };
    const option = /'([^' ]+)/.exec(e.message)?.[1];
    if (e.message.includes("ambiguous") && option !== undefined) {
      // parseArgs reads "--port -1" as a flag after --port; say what is wrong with the value instead.
      const value = argv[argv.indexOf(option) + 1] ?? "";
      check(option, value);
      fail(command, `Invalid value '${value}' for ${option} (see --help)`, EXIT_USAGE);
    }
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") fail(command, `Unknown option ${option ?? ""} (see --help)`, EXIT_USAGE);
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") fail(command, `Unexpected argument ${option ?? ""} (see --help)`, EXIT_USAGE);
    fail(command, `${e.message.split(/\.\s|\n/)[0]} (see --help)`, EXIT_USAGE);
  }
}
