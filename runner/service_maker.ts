/**
 * Service makers, as Twisted's `IServiceMaker`: what a module gives `twine-serve` to be served
 * with options of its own.
 *
 * @module
 */
import type { Factory } from "../src/transport/factory.ts";
import type { ServiceContext } from "./serve_options.ts";
import type { Service } from "./service.ts";

/** One command-line option of a service maker: a `parseArgs` option with a description. */
export interface MakerOption {
  /** `string` takes a value, `boolean` is a flag. */
  readonly type: "string" | "boolean";
  /** One line for `--help`. */
  readonly description: string;
  /** A one-letter alias. */
  readonly short?: string;
  /** The value when not given. */
  readonly default?: string | boolean;
  /** Whether it may be given more than once (its value is then an array). */
  readonly multiple?: boolean;
  /**
   * The value's name in `--help`: `--rate N`.
   * @default "VALUE"
   */
  readonly valueName?: string;
}

/** The values of a maker's options, as `parseArgs` gives them. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * What a module's default export may be besides a `Factory`: a description, options of its
 * own, and a function that makes the factory (served on every `--listen` endpoint) or the whole
 * service from their values.
 *
 * @example
 * ```ts
 * import type { ServiceMaker } from "./service_maker.ts";
 * import { Factory, TextLineReceiver } from "../src/mod.ts";
 * class Greeter extends TextLineReceiver {
 *   greeting = "hello";
 *   override connectionMade(): void {
 *     this.sendLine(this.greeting);
 *     this.transport.loseConnection();
 *   }
 * }
 * const maker: ServiceMaker = {
 *   description: "Greets each client and closes.",
 *   options: { greeting: { type: "string", default: "hello", description: "what to say" } },
 *   makeFactory(options) {
 *     const factory = new Factory<Greeter>();
 *     factory.buildProtocol = () => Object.assign(new Greeter(), { greeting: String(options.greeting) });
 *     return factory;
 *   },
 * };
 * export default maker;
 * ```
 */
export interface ServiceMaker<V extends OptionValues = OptionValues> {
  /** What it serves, for `--help`. */
  readonly description: string;
  /** What listens, for the start line: `Echo server`. */
  readonly name?: string;
  /** Its own command-line options, by long name. */
  readonly options?: Readonly<Record<string, MakerOption>>;
  /**
   * Makes the factory served on every endpoint. Called in the supervisor and in every worker;
   * keep resources for `startFactory`. A `UsageError` means the options were wrong (exit 2).
   */
  makeFactory?(options: V): Factory | Promise<Factory>;
  /** Makes the whole service, for one that listens on its own terms (UDP too, say); as `makeFactory`, one per process. */
  makeService?(options: V, context: ServiceContext): Service | Promise<Service>;
}

/**
 * A mistake in how a service was asked for (its options), as opposed to a failure of the
 * service itself: a command exits 2 for it, and shows its message as is.
 */
export class UsageError extends Error {
  /** @param message One line naming the option and what is wrong with it. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
