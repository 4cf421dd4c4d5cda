import { expect, test } from "vitest";
import { type Connection, Factory, formatAddress, Protocol, type Socket, unixAddress, UnixPort } from "../src/mod.ts";

class NullSocket implements Socket {
  connection: Connection | undefined;
  readonly pending = 0;
  write(data: Uint8Array): number {
    return data.length;
  }
  pauseReading(): void {}
  resumeReading(): void {}
  shutdownWrite(): void {}
  close(): void {
    this.connection?.closed();
  }
  abort(): void {
    this.connection?.closed();
  }
}

test("a Unix port gives its connections Unix addresses, whatever the accept loop passes", async () => {
  const port = new UnixPort(Factory.forProtocol(Protocol), unixAddress("/tmp/x.sock"), {}, () => {});
  const socket = new NullSocket();
  const connection = port.accept(socket, { type: "TCP", host: "", port: 0 }, { type: "TCP", host: "", port: 0 }, (c) => {
    socket.connection = c;
  });
  expect(connection.getPeer()).toEqual({ type: "UNIX", host: "", port: 0 });
  expect(connection.getHost()).toEqual({ type: "UNIX", host: "/tmp/x.sock", port: 0 });
  expect(formatAddress(connection.getHost())).toBe("unix:/tmp/x.sock");
  await port.close({ grace: 0 });
  expect(connection.disconnected).toBe(true);
});
