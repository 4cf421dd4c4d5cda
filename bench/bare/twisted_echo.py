"""
The seed's reference row: Twisted's own echo protocol (twisted.protocols.wire.Echo) on
its epoll reactor, the way the Twisted documentation serves it, with Nagle off and the
peer's half-close answered after the last byte (which the benchmark's stream scenario
needs), as every other server in the table does.

    python3 bench/bare/twisted_echo.py [--port N] [--host ADDR]

Prints "bare twisted listening on HOST:PORT". Needs Twisted (Debian: python3-twisted).
"""
import argparse

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor  # noqa: E402
from twisted.internet.interfaces import IHalfCloseableProtocol  # noqa: E402
from twisted.protocols.wire import Echo  # noqa: E402
from zope.interface import implementer  # noqa: E402


@implementer(IHalfCloseableProtocol)
class HalfClosingEcho(Echo):
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)

    def readConnectionLost(self):
        # loseConnection writes what is still queued before it closes.
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--host", default="127.0.0.1")
args = parser.parse_args()

factory = protocol.Factory.forProtocol(HalfClosingEcho)
port = reactor.listenTCP(args.port, factory, backlog=4096, interface=args.host)
print(f"bare twisted listening on {args.host}:{port.getHost().port}", flush=True)
reactor.run()
