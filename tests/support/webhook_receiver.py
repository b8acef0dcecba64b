"""A webhook receiver for the tests: verifies every delivery with the `standardwebhooks` package
(an implementation independent of vodgate's), and answers as the test tells it to.

    python tests/support/webhook_receiver.py SECRET [SECRET ...]

Prints `listening on http://127.0.0.1:<port>` on stderr once ready. Each delivery to `/hooks` is verified
against every secret given (all must hold: a sender rotating secrets signs with each) and
recorded; `GET /deliveries` returns them as JSON. `POST /mode` with `{"status": 500}`,
`{"status": 307}` (a redirect), `{"hang": 5}` (seconds before answering) or `{"status": 204}`
sets how the next deliveries are answered; the default is 204.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRETS = sys.argv[1:]
LOCK = threading.Lock()
DELIVERIES = []
MODE = {"status": 204}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            body = json.dumps(DELIVERIES).encode()
        self._answer(200, body, [("content-type", "application/json")])

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if self.path == "/mode":
            with LOCK:
                MODE.clear()
                MODE.update(json.loads(body))
            self._answer(204)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = []
        for secret in SECRETS:
            try:
                Webhook(secret).verify(body, headers)
                verified.append(True)
            except WebhookVerificationError:
                verified.append(False)
        with LOCK:
            mode = dict(MODE)
            DELIVERIES.append(
                {
                    "id": headers.get("webhook-id"),
                    "signatures": headers.get("webhook-signature", "").count("v1,"),
                    "contentType": headers.get("content-type"),
                    "verified": verified,
                    "envelope": json.loads(body) if all(verified) else None,
                    "answered": mode.get("status", 204),
                }
            )
        if "hang" in mode:
            time.sleep(mode["hang"])
        status = mode.get("status", 204)
        if 300 <= status < 400:
            self._answer(status, headers=[("location", "http://127.0.0.1:9/elsewhere")])
        else:
            self._answer(status, b'{"note":"a body the sender must not log"}')


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
