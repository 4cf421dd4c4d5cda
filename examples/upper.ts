// The README's "Write a protocol" example, as a module: twine-serve examples/upper.ts --port 8001
// (from a clone: node bin/serve.ts examples/upper.ts --port 8001; bun run bin/serve.ts …; deno run --allow-net --allow-read bin/serve.ts …)
import { Factory, TextLineReceiver } from "../mod.ts";

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

export default Factory.forProtocol(Upper);
