#!/usr/bin/env python3
"""Lambda cold start under a Runtime API emulator: exec a function binary with
AWS_LAMBDA_RUNTIME_API pointing here, hand it one API Gateway v2 event, print milliseconds.

    lambda_init.py EVENT_JSON COMMAND [ARG...]

Prints two numbers: `init` (exec to the function's first GET /runtime/invocation/next, which is
what Lambda bills as Init Duration) and `first` (exec to the response of the first invocation,
what the first user waits for, minus Lambda's own sandbox start). The event's statusCode must be
200, or the script fails. In EVENT_JSON (one of tests/fixtures/apigw), {{TOKEN}} is replaced with
$TOKEN and {{BODY}} with the contents of the file $BODY_FILE, escaped for a JSON string. The
child gets this
process's environment plus the Lambda variables, with stdout and stderr sent to /dev/null, and is
killed once it has answered. One measurement per call: benches/load.sh repeats it.
"""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIVE_UP_AFTER_S = 10.0
PREFIX = "/2018-06-01/runtime"


class Emulator:
    def __init__(self, event):
        self.event = event
        self.served = False
        self.init_at = None
        self.response = None
        self.error = None
        self.done = threading.Event()


def handler_for(emulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != f"{PREFIX}/invocation/next":
                return self.send_error(404)
            if emulator.init_at is None:
                emulator.init_at = time.perf_counter()
            if emulator.served:
                # The function asks for its next event; there is none, and the process is
                # killed once the first answer is in: hold the call, then drop it unanswered.
                emulator.done.wait(GIVE_UP_AFTER_S)
                self.close_connection = True
                return
            emulator.served = True
            body = emulator.event.encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
            deadline_ms = int(time.time() * 1000) + 30_000
            self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:vodgate-bench",
            )
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path == f"{PREFIX}/invocation/bench-1/response":
                emulator.response = (time.perf_counter(), body)
            else:
                emulator.error = f"{self.path}: {body[:200]!r}"
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            emulator.done.set()

    return Handler


def body_from_env():
    path = os.environ.get("BODY_FILE")
    return open(path).read() if path else ""


def main():
    event = open(sys.argv[1]).read()
    for name, value in (("TOKEN", os.environ.get("TOKEN", "")), ("BODY", body_from_env())):
        event = event.replace("{{%s}}" % name, json.dumps(value)[1:-1])
    command = sys.argv[2:]
    emulator = Emulator(event)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(emulator))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME="vodgate-bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_FORMAT="JSON",
    )
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, env, file_actions=actions)
    answered = emulator.done.wait(GIVE_UP_AFTER_S)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    server.shutdown()
    if not answered or emulator.error or emulator.init_at is None:
        sys.exit(f"{command[0]} did not answer: {emulator.error or 'no response'}")
    answered_at, body = emulator.response
    status = json.loads(body).get("statusCode")
    if status != 200:
        sys.exit(f"{command[0]} answered {status}")
    init_ms = (emulator.init_at - started) * 1000
    first_ms = (answered_at - started) * 1000
    print(f"{init_ms:.2f} {first_ms:.2f}")


if __name__ == "__main__":
    main()
