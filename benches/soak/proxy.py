"""A TCP proxy to moto that the soak driver breaks on purpose.

    proxy.py TARGET_PORT MODE_FILE     prints "ready <port>", then forwards 127.0.0.1:<port> to
                                       127.0.0.1:TARGET_PORT

On SIGUSR1 it reads MODE_FILE: "up" forwards, "down" drops every connection (open ones too) and
accepts-then-closes new ones, "stalled" accepts and holds new connections without forwarding a
byte and freezes open ones. Like tests/common FlakyProxy, so the sink's data survives the fault.
Exits when its parent (scripts/soak) does.
"""

import asyncio
import os
import signal
import sys

TARGET_PORT = int(sys.argv[1])
MODE_FILE = sys.argv[2]
mode = "up"
changed = asyncio.Event()
links = set()


def reload_mode():
    global mode, changed
    with open(MODE_FILE) as handle:
        mode = handle.read().strip()
    previous, changed = changed, asyncio.Event()
    previous.set()
    if mode == "down":
        for writer in list(links):
            writer.close()


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while mode == "stalled":
                await changed.wait()
            if mode == "down":
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    if mode == "down":
        client_writer.close()
        return
    while mode == "stalled":
        await changed.wait()
    if mode == "down":
        client_writer.close()
        return
    try:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", TARGET_PORT)
    except OSError:
        client_writer.close()
        return
    links.update((client_writer, target_writer))
    try:
        await asyncio.gather(
            pump(client_reader, target_writer), pump(target_reader, client_writer)
        )
    finally:
        links.discard(client_writer)
        links.discard(target_writer)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, reload_mode)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)


asyncio.run(main())
