// The README's "Writing your own protocol" example, runnable: bun run / deno run --allow-net / node examples/upper.ts [PORT]
import process from "node:process";
import { Factory, listen, TextLineReceiver } from "../mod.ts";

class Upper extends TextLineReceiver {
  override delimiter = "\n";

  override connectionMade(): void {
    this.sendLine(`hello ${this.transport.getPeer().host}`);
  }

  // Whole lines, decoded once complete: an "é" split across two reads arrives intact.
  override lineReceived(line: string): void {
    this.sendLine(line.toUpperCase());
  }
}

const port = await listen(Factory.forProtocol(Upper), { port: Number(process.argv[2] ?? 8001) });
console.log(`listening on ${port.address.port}`);
