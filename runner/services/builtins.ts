/**
 * The services `twine-serve` knows by name.
 *
 * @module
 */
import type { ServiceMaker } from "../service_maker.ts";
import { echoService } from "./echo.ts";
import { chargenService, daytimeService, discardService } from "./wire.ts";

/** The built-in services by name: `echo`, `discard`, `chargen`, `daytime`. */
export const BUILTIN_SERVICES: Readonly<Record<string, ServiceMaker>> = {
  echo: echoService as ServiceMaker,
  discard: discardService,
  chargen: chargenService,
  daytime: daytimeService,
};
