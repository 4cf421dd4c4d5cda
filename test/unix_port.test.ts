import { expect, test } from "vitest";
import { Factory, formatAddress, Protocol, unixAddress, UnixPort } from "../src/mod.ts";
import { NullSocket } from "./helpers/fake_socket.ts";

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
