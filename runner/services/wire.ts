/**
 * Twisted's other `wire` services as makers for `twine-serve`: discard, chargen and daytime, over TCP.
 *
 * @module
 */
import type { ServiceMaker } from "../service_maker.ts";

// Each factory is loaded when its service is made: every serving command loads this module, to list the built-ins.

/** `twine-serve discard`: RFC 863. */
export const discardService: ServiceMaker = {
  name: "Discard server",
  description: "A discard server (RFC 863): reads whatever a client sends and answers nothing.",
  makeFactory: async () => new (await import("../../src/wire/discard.ts")).DiscardFactory(),
};

/** `twine-serve chargen`: RFC 864. */
export const chargenService: ServiceMaker = {
  name: "Chargen server",
  description: "A character generator (RFC 864): sends lines of printable characters for as long as the client reads them.",
  makeFactory: async () => new (await import("../../src/wire/chargen.ts")).ChargenFactory(),
};

/** `twine-serve daytime`: RFC 867. */
export const daytimeService: ServiceMaker = {
  name: "Daytime server",
  description: "A daytime server (RFC 867): sends the date and time in UTC as one line and closes.",
  makeFactory: async () => new (await import("../../src/wire/daytime.ts")).DaytimeFactory(),
};
