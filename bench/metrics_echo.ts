/**
 * The echo server with the listen option `metrics` on or off, for `npm run bench -- --cost
 * --against metrics-off`: the same script on both sides of the pair, so that the only
 * difference measured is counting bytes. Takes `--port N` or `--listen ENDPOINT`,
 * `--adapter native|node` and `--metrics on|off`; prints the echo CLI's start line.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type AdapterChoice, listenEndpoint } from "../adapters/mod.ts";
import { EchoFactory, formatAddress } from "../src/mod.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    listen: { type: "string" },
    adapter: { type: "string", default: "native" },
    metrics: { type: "string", default: "on" },
  },
});
if (values.metrics !== "on" && values.metrics !== "off") {
  console.error(`metrics_echo: Invalid --metrics '${values.metrics}': expected on or off`);
  process.exit(2);
}
const endpoint = values.listen ?? `tcp:${values.port ?? "0"}:interface=127.0.0.1`;
const port = await listenEndpoint(new EchoFactory(), endpoint, { adapter: values.adapter as AdapterChoice, metrics: values.metrics === "on" });
const kind = endpoint.startsWith("ssl:") ? "ssl:" : "";
console.log(`Echo server listening on ${kind}${formatAddress(port.address)} (metrics ${values.metrics}, adapter ${port.adapter})`);
process.on("SIGTERM", () => void port.close({ grace: 0 }).then(() => process.exit(0)));
process.on("SIGINT", () => void port.close({ grace: 0 }).then(() => process.exit(0)));
