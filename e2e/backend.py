#!/usr/bin/env python3
"""A cluster's copy of the service `web`: accepts TCP connections on each ADDRESS:PORT and closes them.

    backend.py ADDRESS:PORT [ADDRESS:PORT ...]

Enough for scdns's reachability probes (a completed connect) and for timing connects from the pods.
"""

import selectors
import socket
import sys


def main():
    selector = selectors.DefaultSelector()
    for endpoint in sys.argv[1:]:
        address, port = endpoint.rsplit(":", 1)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, int(port)))
        listener.listen(128)
        selector.register(listener, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            try:
                connection, _ = key.fileobj.accept()
                connection.close()
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
