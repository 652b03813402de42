#!/usr/bin/python3
"""gevent peer: iod's job with gevent's StreamServer, a greenlet per
connection running a plain blocking-style recv/sendall loop.

usage: py-gevent.py PORT [upper|echo]

Listens on 127.0.0.1:PORT (0 picks a port) and prints
"gevent: listening on 127.0.0.1:PORT" to stderr.
"""
import socket
import sys

from gevent.server import StreamServer

LOWER = b"abcdefghijklmnopqrstuvwxyz"
UPPER = bytes.maketrans(LOWER, LOWER.upper())  # only a-z change
ECHO = None                                     # translate(None) copies


def handler(table):
    # sendall() blocks this greenlet until the client takes the bytes,
    # so a client that does not read stops us reading: backpressure.
    def handle(sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = sock.recv(65536)
            if not data:
                break       # the client is done sending; all is sent
            sock.sendall(data.translate(table))
        sock.close()
    return handle


def main(argv):
    port = int(argv[0]) if argv else 0
    table = ECHO if argv[1:] == ["echo"] else UPPER
    server = StreamServer(("127.0.0.1", port), handler(table), backlog=4096)
    server.start()
    print(f"gevent: listening on 127.0.0.1:{server.server_port}",
          file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
