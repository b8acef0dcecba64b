"""Runs a moto server (a local AWS endpoint) for one test process.

Prints "ready <port>" once listening and exits when its parent (the test binary) does, so no
server outlives the tests. Started by tests/common/mod.rs from the .venv that tests/run creates.
"""

import os
import sys
import time

from moto.server import ThreadedMotoServer

parent = os.getppid()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(f"ready {server._server.server_port}", flush=True)
while os.getppid() == parent:
    time.sleep(0.5)
server.stop()
