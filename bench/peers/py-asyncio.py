#!/usr/bin/python3
"""asyncio peer: iod's job as an asyncio.Protocol, one event loop.

usage: py-asyncio.py [--uvloop] PORT [upper|echo]

Listens on 127.0.0.1:PORT (0 picks a port) and prints
"asyncio: listening on 127.0.0.1:PORT" (or "uvloop: ...") to stderr.
With --uvloop the same protocol runs on uvloop's event loop.
"""
import asyncio
import socket
import sys

LOWER = b"abcdefghijklmnopqrstuvwxyz"
UPPER = bytes.maketrans(LOWER, LOWER.upper())  # only a-z change
ECHO = None                                     # translate(None) copies

# Stop reading from a client while this much is still unsent to it, so a
# client that writes faster than it reads cannot grow our memory.
HIGH_WATER = 256 * 1024


class Upper(asyncio.Protocol):
    def __init__(self, table):
        self.table = table

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=HIGH_WATER)

    def data_received(self, data):
        self.transport.write(data.translate(self.table))

    # The transport calls these when its write buffer crosses the limits.
    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()

    # The client is done sending.  Returning False closes the transport,
    # and close() first flushes everything still owed to the client.
    def eof_received(self):
        return False


async def serve(name, port, table):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upper(table), "127.0.0.1",
                                      port, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"{name}: listening on 127.0.0.1:{port}", file=sys.stderr,
          flush=True)
    await server.serve_forever()


def main(argv):
    name = "asyncio"
    if argv[:1] == ["--uvloop"]:
        import uvloop
        uvloop.install()
        name, argv = "uvloop", argv[1:]
    port = int(argv[0]) if argv else 0
    table = ECHO if argv[1:] == ["echo"] else UPPER
    asyncio.run(serve(name, port, table))


if __name__ == "__main__":
    main(sys.argv[1:])
