#!/usr/bin/env python3
"""Time to first answer: exec a server, poll GET /healthz until it answers 200, print milliseconds.

    first_answer.py PORT COMMAND [ARG...]

The child gets this process's environment (the caller sets PORT and the rest) with stdout and
stderr sent to /dev/null. The clock starts just before posix_spawn and stops when the first
200 arrives; connection attempts are retried every 100 µs. The child is then sent SIGTERM and
reaped. One measurement per call: benches/load.sh repeats it and takes the median.
"""

import os
import signal
import socket
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
GIVE_UP_AFTER_S = 10.0


def answered(port):
    """True once GET /healthz on 127.0.0.1:port answers 200; False while nothing listens."""
    try:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(REQUEST)
            head = b""
            while b"\r\n" not in head:
                chunk = conn.recv(1024)
                if not chunk:
                    return False
                head += chunk
            return head.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def main():
    port = int(sys.argv[1])
    command = sys.argv[2:]
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ, file_actions=actions)
    while not answered(port):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            sys.exit(f"{command[0]} exited before answering")
        if time.perf_counter() - started > GIVE_UP_AFTER_S:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit(f"{command[0]} did not answer 200 on /healthz within {GIVE_UP_AFTER_S} s")
        time.sleep(0.0001)
    elapsed_ms = (time.perf_counter() - started) * 1000
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)
    print(f"{elapsed_ms:.2f}")


if __name__ == "__main__":
    main()
