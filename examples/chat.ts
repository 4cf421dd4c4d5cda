/**
 * A line-based chat server: each client picks a name with its first line, and every
 * later line goes to all the other clients as `name: line`.
 *
 *   twine-serve examples/chat.ts --port 8002
 *   twine-serve examples/chat.ts --listen tcp:8002 --listen ssl:8443:privateKey=key.pem:certKey=cert.pem
 *
 * (from a clone: `node bin/serve.ts examples/chat.ts …`, `bun run bin/serve.ts …`,
 * `deno run --allow-net --allow-read bin/serve.ts …`). The module default-exports its factory, so
 * twine-serve gives it every endpoint, limit, worker and signal option. With `--workers`, each
 * worker loads the module and so has a room of its own.
 *
 * A client that stops reading cannot make the server hold its messages for ever:
 * once more than MAX_QUEUED bytes wait for it, it is disconnected and the server logs
 * it. Dropping lines instead would leave it with a silently gappy conversation;
 * disconnecting is what IRC servers do ("SendQ exceeded").
 *
 * @module
 */
import { Factory, formatAddress, type Reason, TextLineReceiver } from "../mod.ts";

/** Bytes that may wait for one client before it is disconnected. */
const MAX_QUEUED = 64 * 1024;
const NAME = /^[\p{L}\p{N}_-]{1,32}$/u;

class ChatFactory extends Factory<Chatter> {
  override protocol = Chatter;
  readonly clients = new Map<string, Chatter>();

  /** Sends `line` to every named client but `from`, disconnecting those too far behind. */
  broadcast(line: string, from?: Chatter): void {
    for (const client of this.clients.values()) {
      if (client !== from) client.deliver(line);
    }
  }
}

class Chatter extends TextLineReceiver {
  override delimiter = "\n";
  override maxLength = 1024;
  name: string | undefined;
  declare factory: ChatFactory;

  override connectionMade(): void {
    this.sendLine("Welcome! What is your name?");
  }

  override lineReceived(raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const { clients } = this.factory;
    if (this.name !== undefined) {
      this.factory.broadcast(`${this.name}: ${line}`, this);
      return;
    }
    if (!NAME.test(line)) {
      this.sendLine("A name is 1 to 32 letters, digits, '_' or '-'. What is your name?");
    } else if (clients.has(line)) {
      this.sendLine(`${line} is taken. What is your name?`);
    } else {
      this.name = line;
      clients.set(line, this);
      const others = clients.size - 1;
      this.sendLine(`Hello ${line}; ${others} ${others === 1 ? "other" : "others"} here.`);
      this.factory.broadcast(`* ${line} joined`, this);
    }
  }

  /** Queues `line` for this client, unless it has fallen too far behind. */
  deliver(line: string): void {
    if (this.transport.disconnecting) return;
    if (this.transport.bufferSize > MAX_QUEUED) {
      console.log(`Disconnected ${this.name} (${formatAddress(this.transport.getPeer())}): more than ${MAX_QUEUED} bytes queued`);
      // Abort rather than loseConnection: what is queued is exactly what cannot be sent.
      this.transport.abortConnection();
      return;
    }
    this.sendLine(line);
  }

  override connectionLost(_reason: Reason): void {
    if (this.name === undefined || this.factory.clients.get(this.name) !== this) return;
    this.factory.clients.delete(this.name);
    this.factory.broadcast(`* ${this.name} left`);
  }
}

export default new ChatFactory();
