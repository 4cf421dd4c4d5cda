/**
 * A Port that reads PROXY headers needs PROXY's receiver loaded first (`preparePort`), since its
 * accept cannot wait for a module: each adapter awaits it before binding. A program that makes a
 * Port itself and forgets it gets one line saying what to do, not a failure at the first accept.
 * Its own file: the receiver, once loaded, stays loaded for the test file's module graph.
 */
import { expect, test } from "vitest";
import { EchoFactory, Port, preparePort, tcpAddress } from "../src/mod.ts";

const host = tcpAddress("127.0.0.1", 8000);

test("a PROXY-reading Port made before preparePort() is refused in one line; after it, it is made", async () => {
  expect(() => new Port(new EchoFactory(), host, { proxyProtocol: true, log: () => {} }, () => {})).toThrow(
    new Error("Cannot read PROXY headers: await preparePort(options) before making the Port"),
  );
  // A Port without PROXY needs nothing loaded.
  expect(new Port(new EchoFactory(), host, { log: () => {} }, () => {}).address).toEqual(host);
  await preparePort({ proxyProtocol: true });
  expect(new Port(new EchoFactory(), host, { proxyProtocol: true, log: () => {} }, () => {}).metrics().proxyHeadersRejected).toBe(0);
});
