/**
 * What the benchmark's commands (`bench`, `bench --cost`, `bench:scaling`, `soak`) share in
 * reading their flags: a bad flag is one line and exit 2, `--help` prints the usage.
 *
 * @module
 */
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The flags of a command, as `parseArgs` takes them. */
type Flags = NonNullable<ParseArgsConfig["options"]>;

/** What `parseArgs` gives for `flags`, typed by them. */
type Values<F extends Flags> = ReturnType<typeof parseArgs<{ options: F; strict: true }>>["values"];

/**
 * The one-line failure of a command's bad flags: `NAME: message` on stderr, exit 2.
 *
 * @param name The command, as the line starts: `bench`, `soak`.
 * @returns A function that prints the line and exits.
 */
export function failWith(name: string): (message: string) => never {
  return (message) => {
    console.error(`${name}: ${message}`);
    process.exit(2);
  };
}

/**
 * Reads the flags strictly, with `-h`/`--help` added: a flag the command does not have, or
 * one without its value, fails with the first sentence of `parseArgs`' message; `--help`
 * prints `usage` and exits 0.
 *
 * @param flags The command's flags, without `help`.
 * @param usage What `--help` prints.
 * @param fail The command's one-line failure (see {@link failWith}).
 * @param args The arguments; `process.argv` after the script by default.
 * @returns The flags' values.
 */
export function parseFlags<const F extends Flags>(flags: F, usage: string, fail: (message: string) => never, args?: string[]): Values<F> {
  let values: { help?: unknown };
  try {
    values = parseArgs({ args, options: { ...flags, help: { type: "boolean", short: "h", default: false } }, strict: true }).values;
  } catch (error) {
    fail(`${(error as Error).message.split(/\.\s|\n/)[0]} (see --help)`);
  }
  if (values.help === true) {
    console.log(usage);
    process.exit(0);
  }
  return values as Values<F>;
}
