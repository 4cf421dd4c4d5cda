// The README's "Writing your own protocol" example, runnable: bun run / deno run --allow-net / node examples/upper.ts
import process from "node:process";
import { Factory, listen, Protocol } from "../mod.ts";

class Upper extends Protocol {
  override connectionMade(): void {
    this.transport.write(`hello ${this.transport.getPeer().host}\n`);
  }
  override dataReceived(data: Uint8Array): void {
    this.transport.write(new TextDecoder().decode(data).toUpperCase());
  }
}

const port = await listen(Factory.forProtocol(Upper), { port: Number(process.argv[2] ?? 8001) });
console.log(`listening on ${port.address.port}`);
