/**
 * Twisted's other `wire` services as makers for `twine-serve`: discard, chargen and daytime, over TCP.
 *
 * @module
 */
import { ChargenFactory } from "../../src/wire/chargen.ts";
import { DaytimeFactory } from "../../src/wire/daytime.ts";
import { DiscardFactory } from "../../src/wire/discard.ts";
import type { ServiceMaker } from "../service_maker.ts";

/** `twine-serve discard`: RFC 863. */
export const discardService: ServiceMaker = {
  name: "Discard server",
  description: "A discard server (RFC 863): reads whatever a client sends and answers nothing.",
  makeFactory: () => new DiscardFactory(),
};

/** `twine-serve chargen`: RFC 864. */
export const chargenService: ServiceMaker = {
  name: "Chargen server",
  description: "A character generator (RFC 864): sends lines of printable characters for as long as the client reads them.",
  makeFactory: () => new ChargenFactory(),
};

/** `twine-serve daytime`: RFC 867. */
export const daytimeService: ServiceMaker = {
  name: "Daytime server",
  description: "A daytime server (RFC 867): sends the date and time in UTC as one line and closes.",
  makeFactory: () => new DaytimeFactory(),
};
