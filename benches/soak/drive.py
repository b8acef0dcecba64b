"""Traffic, fault injection, memory sampling and verification for scripts/soak.

Started by scripts/soak once the servers run; stdlib plus boto3 (moto's dependency, in .venv).
Each worker holds one keep-alive HTTP/1.1 connection and sends requests back to back, each of a
class drawn by weight. Classes and the statuses they must get:

sign (POST /v1/upload-signature):
  sign_valid        token of one of POOL_SUBS users, {"meta": …}                  200
  sign_hot_caller   one user far above SIGN_RATE_LIMIT's default 30/60s,burst=60  200 or 429
  sign_expired      exp an hour ago                                               401
  sign_bad_mac      signed with another secret                                    401
  sign_garbage      "Bearer" + random text                                        401
  sign_no_token     no Authorization                                              401
  sign_no_scope     token without vod:upload                                      403
  sign_bad_body     valid token, malformed JSON or an unknown field               400
  sign_server_param valid token asking for sourceContext                          403
  sign_oversized    valid token, 17 KiB body                                      413
events (POST /v1/vod/events), per sink:
  ev_new            a fresh event from one fixture type (NewFileUpload carries the sourceContext
                    of a signature sign issued, so it must be attributed)           200
  ev_duplicate      the event acknowledged last, redelivered with a fresh Sign/T    200
  ev_redelivery     a random earlier acknowledged event, redelivered                200
  ev_retry          an event that got no 200 (503 or a broken connection), again    200
  ev_bad_sign       Sign for another key                                           401
  ev_expired        T in the past                                                  401
  ev_garbage        not JSON                                                       400
  ev_oversized      1.1 MiB                                                        413
A 503 on an events class whose request overlapped the fault window is "injected", not a failure;
the event is then redelivered (ev_retry) until it gets a 200, as VOD does.

Every event carries a unique 19-digit marker in each FileId, so what a sink holds maps back to
what was sent without recomputing envelope ids; events that must be refused carry markers of
their own, which must never be stored.
"""

import argparse
import asyncio
import base64
import collections
import copy
import hashlib
import hmac
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import sys
import time
import urllib.parse

import boto3

FIXTURES = [
    "edit_media_complete.json",
    "file_deleted.json",
    "legacy_v2_new_file_upload.json",
    "new_file_upload.json",
    "procedure_change_finish.json",
    "procedure_change_processing.json",
    "procedure_finish.json",
    "pull_complete.json",
    "review_audio_video.json",
    "unknown_future_type.json",
]
POOL_SUBS = 5000
SIGN_CLASSES = {
    "sign_valid": (50, {200}),
    "sign_hot_caller": (10, {200, 429}),
    "sign_expired": (5, {401}),
    "sign_bad_mac": (5, {401}),
    "sign_garbage": (5, {401}),
    "sign_no_token": (5, {401}),
    "sign_no_scope": (4, {403}),
    "sign_bad_body": (6, {400}),
    "sign_server_param": (4, {403}),
    "sign_oversized": (2, {413}),
}
EVENT_CLASSES = {
    "ev_new": (50, {200}),
    "ev_duplicate": (12, {200}),
    "ev_redelivery": (10, {200}),
    "ev_bad_sign": (8, {401}),
    "ev_expired": (6, {401}),
    "ev_garbage": (6, {400}),
    "ev_oversized": (1, {413}),
}
RETRY_CLASS = ("ev_retry", {200})
MARKER = re.compile(r'"([89]\d{18})"')


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, claims):
    signing_input = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(
        json.dumps(claims, separators=(",", ":")).encode()
    )
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def read_vm(pid):
    """VmRSS and VmHWM in KiB and the thread count of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return None
    return (
        int(fields["VmRSS"].split()[0]),
        int(fields["VmHWM"].split()[0]),
        int(fields["Threads"].strip()),
    )


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or a close."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method, path, headers, body):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while True:
            line = (await self.reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Stats:
    def __init__(self):
        self.by_class = collections.defaultdict(collections.Counter)
        self.unexpected = collections.Counter()
        self.injected = collections.Counter()
        self.transport = collections.Counter()
        self.latency = collections.defaultdict(list)
        self.unexpected_samples = []  # the first unexpected answers: (at, target, class, status, took)

    def record(self, target, klass, status, expected, at, took, in_fault):
        key = (target, klass)
        self.by_class[key][status] += 1
        if len(self.latency[key]) < 200_000:
            self.latency[key].append(took)
        if status in expected:
            return "ok"
        if status == 503 and klass.startswith("ev_") and in_fault:
            self.injected[key] += 1
            return "injected"
        self.unexpected[(target, klass, status)] += 1
        if len(self.unexpected_samples) < 20:
            self.unexpected_samples.append((at, target, klass, status, took))
        return "unexpected"


class Fault:
    """The injected fault window: moto unreachable, then hanging; the SQLite write lock taken."""

    def __init__(self, args, start, length):
        self.args, self.start, self.length = args, start, length
        self.end = start + length
        self.lock = None
        self.events = []

    def overlaps(self, began, ended):
        # A request that began before the window ended, or within the store timeout after it
        # (default 10 s: connections broken by the fault are still being replaced), may see it.
        return self.length > 0 and began <= self.end + 10 and ended >= self.start

    def set_proxy(self, mode):
        with open(self.args.proxy_mode, "w") as handle:
            handle.write(mode)
        os.kill(self.args.proxy_pid, signal.SIGUSR1)
        self.events.append((time.monotonic(), f"proxy {mode}"))

    async def run(self, sqlite_path):
        if self.length <= 0:
            return
        await asyncio.sleep(max(0, self.start - time.monotonic()))
        self.set_proxy("down")
        if sqlite_path and os.path.exists(sqlite_path):
            self.lock = sqlite3.connect(sqlite_path, timeout=10, isolation_level=None)
            self.lock.execute("BEGIN IMMEDIATE")
            self.events.append((time.monotonic(), "sqlite write lock taken"))
        await asyncio.sleep(self.length / 2)
        self.set_proxy("stalled")
        await asyncio.sleep(self.length / 2)
        self.set_proxy("up")
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.events.append((time.monotonic(), "sqlite write lock released"))


class Sink:
    """What was sent to one events process, for the verification."""

    def __init__(self, name, port, marker_prefix):
        self.name, self.port = name, port
        self.prefix = marker_prefix
        self.sequence = 0
        self.events = {}  # marker -> {"body", "acked", "sub"}
        self.acked = []
        self.retries = collections.deque()
        self.refused = set()

    def marker(self, refused):
        self.sequence += 1
        return f"{8 if refused else 9}{self.prefix}{self.sequence:017d}"


def mark(body, marker):
    """Sets every FileId (and FileIdSet entry, and v2 fileId) of a fixture to `marker`."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("FileId", "fileId") and isinstance(value, str):
                body[key] = marker
            elif key == "FileIdSet" and isinstance(value, list):
                body[key] = [marker]
            else:
                mark(value, marker)
    elif isinstance(body, list):
        for item in body:
            mark(item, marker)


class Driver:
    def __init__(self, args):
        self.args = args
        self.jwt_secret = os.environ["SOAK_JWT_SECRET"]
        self.callback_key = os.environ["SOAK_CALLBACK_KEY"]
        self.stats = Stats()
        self.servers = {}
        with open(args.servers) as handle:
            for line in handle:
                name, pid, port, log = line.split()
                self.servers[name] = {"pid": int(pid), "port": int(port), "log": log}
        self.sinks = [
            Sink(name.removeprefix("events-"), server["port"], str(index))
            for index, (name, server) in enumerate(self.servers.items())
            if name.startswith("events-")
        ]
        self.fixtures = {}
        for name in FIXTURES:
            with open(os.path.join("tests/fixtures/callbacks", name)) as handle:
                body = json.load(handle)
            body.pop("Sign", None)
            body.pop("T", None)
            self.fixtures[name] = body
        exp = int(time.time()) + args.duration + 3600
        self.pool = [
            hs256(self.jwt_secret, {"sub": f"soak-{n}", "scope": "openid vod:upload", "exp": exp})
            for n in range(POOL_SUBS)
        ]
        self.hot = hs256(self.jwt_secret, {"sub": "soak-hot", "scope": "vod:upload", "exp": exp})
        self.contexts = collections.deque(maxlen=256)  # (sourceContext, sub) from sign answers
        self.samples = collections.defaultdict(list)  # name -> [(t, rss, hwm, threads)]

    # -- requests ------------------------------------------------------------------------------

    def sign_request(self, klass):
        pick = random.randrange(POOL_SUBS)
        token = self.pool[pick]
        body = json.dumps({"meta": f"soak_{pick}"}).encode()
        headers = {"Content-Type": "application/json"}
        now = int(time.time())
        if klass == "sign_hot_caller":
            token = self.hot
        elif klass == "sign_expired":
            token = hs256(self.jwt_secret, {"sub": "x", "scope": "vod:upload", "exp": now - 3600})
        elif klass == "sign_bad_mac":
            token = hs256("another-secret-0123456789abcdef0123", {"sub": "x", "exp": now + 600})
        elif klass == "sign_garbage":
            token = base64.b64encode(os.urandom(random.randrange(4, 200))).decode()
        elif klass == "sign_no_token":
            token = None
        elif klass == "sign_no_scope":
            token = hs256(self.jwt_secret, {"sub": "x", "scope": "openid", "exp": now + 600})
        elif klass == "sign_bad_body":
            body = random.choice([b'{"meta":', b'{"unknownField":1}', b"[1,2]"])
        elif klass == "sign_server_param":
            body = b'{"sourceContext":"v1.forged"}'
        elif klass == "sign_oversized":
            body = json.dumps({"meta": "x" * (17 * 1024)}).encode()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return pick, headers, body

    def signed(self, body, ahead=600, key=None):
        signed = dict(body)
        signed["T"] = int(time.time()) + ahead
        signed["Sign"] = hashlib.md5(
            ((key or self.callback_key) + str(signed["T"])).encode()
        ).hexdigest()
        return json.dumps(signed, separators=(",", ":")).encode()

    def new_event(self, sink, refused):
        name = random.choice(FIXTURES)
        body = copy.deepcopy(self.fixtures[name])
        marker = sink.marker(refused)
        mark(body, marker)
        sub = None
        if name == "new_file_upload.json" and self.contexts and not refused:
            context, sub = random.choice(self.contexts)
            body["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = context
        return marker, body, sub

    def event_request(self, sink, klass):
        """(marker or None, body bytes) for one events request of `klass`."""
        if klass == "ev_retry":
            marker = sink.retries.popleft()
            return marker, self.signed(sink.events[marker]["body"])
        if klass in ("ev_duplicate", "ev_redelivery") and sink.acked:
            marker = sink.acked[-1] if klass == "ev_duplicate" else random.choice(sink.acked)
            return marker, self.signed(sink.events[marker]["body"], ahead=random.randrange(60, 900))
        if klass in ("ev_new", "ev_duplicate", "ev_redelivery"):
            marker, body, sub = self.new_event(sink, refused=False)
            sink.events[marker] = {"body": body, "acked": 0, "sub": sub}
            return marker, self.signed(body)
        marker, body, _ = self.new_event(sink, refused=True)
        sink.refused.add(marker)
        if klass == "ev_bad_sign":
            return None, self.signed(body, key="SoakWrongKey")
        if klass == "ev_expired":
            return None, self.signed(body, ahead=-60)
        if klass == "ev_garbage":
            return None, b"not json " + marker.encode()
        body["Padding"] = "x" * (1100 * 1024)
        return None, self.signed(body)

    # -- workers -------------------------------------------------------------------------------

    async def call(self, connection, target, klass, expected, method, path, headers, body):
        began = time.monotonic()
        try:
            status, payload = await asyncio.wait_for(
                connection.request(method, path, headers, body), 30
            )
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
            connection.close()
            ended = time.monotonic()
            in_fault = self.fault.overlaps(began, ended)
            self.stats.transport[(target, klass, "injected" if in_fault else "unexpected")] += 1
            return None, None, in_fault
        ended = time.monotonic()
        outcome = self.stats.record(
            target, klass, status, expected, began - self.started, ended - began,
            self.fault.overlaps(began, ended),
        )
        return status, payload, outcome == "injected"

    async def sign_worker(self, deadline):
        connection = Connection(self.servers["sign"]["port"])
        names = list(SIGN_CLASSES)
        weights = [SIGN_CLASSES[n][0] for n in names]
        while time.monotonic() < deadline:
            klass = random.choices(names, weights)[0]
            pick, headers, body = self.sign_request(klass)
            status, payload, _ = await self.call(
                connection, "sign", klass, SIGN_CLASSES[klass][1], "POST",
                "/v1/upload-signature", headers, body,
            )
            if klass == "sign_valid" and status == 200 and random.random() < 0.1:
                signature = json.loads(payload)["data"]["signature"]
                plaintext = base64.b64decode(signature)[20:].decode()
                context = urllib.parse.parse_qs(plaintext)["sourceContext"][0]
                self.contexts.append((context, f"soak-{pick}"))
        connection.close()

    async def events_worker(self, sink, deadline, drain=False):
        connection = Connection(sink.port)
        names = list(EVENT_CLASSES)
        weights = [EVENT_CLASSES[n][0] for n in names]
        while time.monotonic() < deadline:
            if sink.retries and (drain or random.random() < 0.5):
                klass, expected = RETRY_CLASS
            elif drain:
                return
            else:
                klass = random.choices(names, weights)[0]
                expected = EVENT_CLASSES[klass][1]
            marker, body = self.event_request(sink, klass)
            status, _, _ = await self.call(
                connection, sink.name, klass, expected, "POST", "/v1/vod/events",
                {"Content-Type": "application/json"}, body,
            )
            if marker is None:
                continue
            if status == 200:
                event = sink.events[marker]
                if event["acked"] == 0:
                    sink.acked.append(marker)
                event["acked"] += 1
            else:
                # No 200 (a 503, a broken connection or an unexpected answer): VOD delivers again.
                if marker not in sink.retries:
                    sink.retries.append(marker)
                await asyncio.sleep(0.2 if drain else 0)
        connection.close()

    async def sampler(self, deadline):
        started = time.monotonic()
        while time.monotonic() < deadline:
            for name, server in self.all_processes():
                vm = read_vm(server)
                if vm:
                    self.samples[name].append((time.monotonic() - started, *vm))
            await asyncio.sleep(5)

    def all_processes(self):
        yield from ((name, s["pid"]) for name, s in self.servers.items())
        yield "moto", self.args.moto_pid

    # -- the run -------------------------------------------------------------------------------

    async def run(self):
        duration = self.args.duration
        started = self.started = time.monotonic()
        deadline = started + duration
        length = min(float(os.environ.get("SOAK_FAULT_SECONDS", 20)), duration / 10)
        self.fault = Fault(self.args, started + 0.4 * duration, length if self.args.fault else 0)
        sqlite_path = self.args.sqlite if any(s.name == "sqlite" for s in self.sinks) else None
        tasks = [self.sampler(deadline), self.fault.run(sqlite_path)]
        tasks += [self.sign_worker(deadline) for _ in range(int(os.environ["SOAK_SIGN_WORKERS"]))]
        for sink in self.sinks:
            tasks += [
                self.events_worker(sink, deadline)
                for _ in range(int(os.environ["SOAK_EVENTS_WORKERS"]))
            ]
        await asyncio.gather(*tasks)
        self.load_seconds = time.monotonic() - started
        for name, pid in self.all_processes():
            vm = read_vm(pid)
            if vm:
                self.samples[name].append((self.load_seconds, *vm))
        # Redeliver whatever still has no 200, as VOD would, for up to a minute.
        drain_deadline = time.monotonic() + 60
        await asyncio.gather(
            *[self.events_worker(sink, drain_deadline, drain=True) for sink in self.sinks]
        )
        self.fault_events = [(t - started, what) for t, what in self.fault.events]

    # -- verification --------------------------------------------------------------------------

    def stored(self, sink):
        """marker -> list of (envelope id, envelope) for everything the sink holds."""
        rows = []
        if sink.name == "sqlite":
            database = sqlite3.connect(f"file:{self.args.sqlite}?mode=ro", uri=True)
            rows = list(database.execute("SELECT id, envelope FROM events"))
            database.close()
        elif sink.name == "dynamodb":
            client = boto3.client("dynamodb", endpoint_url=self.args.moto)
            for page in client.get_paginator("scan").paginate(TableName=self.args.table):
                rows += [(item["id"]["S"], item["envelope"]["S"]) for item in page["Items"]]
        elif sink.name == "sqs":
            client = boto3.client("sqs", endpoint_url=self.args.moto)
            empty = 0
            while empty < 3:
                messages = client.receive_message(
                    QueueUrl=self.args.queue, MaxNumberOfMessages=10, VisibilityTimeout=3600
                ).get("Messages", [])
                empty = 0 if messages else empty + 1
                for message in messages:
                    envelope = message["Body"]
                    rows.append((json.loads(envelope)["id"], envelope))
                if messages:
                    # Consumed, as a real consumer would: moto's receive slows down with every
                    # message left in flight.
                    client.delete_message_batch(QueueUrl=self.args.queue, Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ])
        by_marker = collections.defaultdict(list)
        for event_id, envelope in rows:
            markers = set(MARKER.findall(envelope))
            by_marker[markers.pop() if len(markers) == 1 else "?"].append((event_id, envelope))
        return by_marker, len(rows)

    def verify(self):
        results = []
        for sink in self.sinks:
            by_marker, rows = self.stored(sink)
            acked = {m for m, e in sink.events.items() if e["acked"]}
            never_acked = {m for m, e in sink.events.items() if not e["acked"]}
            lost = sorted(m for m in acked if m not in by_marker)
            if sink.name == "sqs":
                doubled = [m for m in acked if len({i for i, _ in by_marker.get(m, [])}) > 1]
                copies = sum(len(by_marker.get(m, [])) for m in acked)
            else:
                doubled = [m for m in acked if len(by_marker.get(m, [])) > 1]
                copies = len(acked) - len(lost) + sum(len(by_marker[m]) - 1 for m in doubled)
            refused_stored = [m for m in sink.refused if m in by_marker]
            foreign = [m for m in by_marker if m not in sink.events and m not in sink.refused]
            attributed = misattributed = 0
            for marker in acked:
                sub = sink.events[marker]["sub"]
                for _, envelope in by_marker.get(marker, [])[:1]:
                    uploader = json.loads(envelope)["uploader"]
                    if sub is None:
                        misattributed += uploader is not None
                    elif uploader and uploader["sub"] == sub:
                        attributed += 1
                    else:
                        misattributed += 1
            results.append({
                "sink": sink.name,
                "acknowledged": len(acked),
                "stored_rows": rows,
                "copies": copies,
                "lost": len(lost),
                "doubled": len(doubled),
                "never_acknowledged": len(never_acked),
                "never_acknowledged_stored": sum(1 for m in never_acked if m in by_marker),
                "refused_stored": len(refused_stored),
                "unknown_rows": len(foreign),
                "attributed": attributed,
                "misattributed": misattributed,
            })
        return results


def rss_report(driver, growth_limit_kib):
    """Rows per process and whether each stayed flat."""
    rows, failures = [], []
    for name, samples in driver.samples.items():
        if not samples:
            continue
        load = [s for s in samples if s[0] <= driver.load_seconds]
        warm = [s for s in load if s[0] >= 0.2 * driver.load_seconds] or load
        baseline, end = warm[0][1], load[-1][1]
        peak = max(s[2] for s in samples)
        second_half = [s for s in load if s[0] >= driver.load_seconds / 2]
        slope = 0.0
        if len(second_half) >= 3:
            xs = [s[0] / 60 for s in second_half]
            ys = [s[1] / 1024 for s in second_half]
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            den = sum((x - mx) ** 2 for x in xs)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
        grew = end - baseline
        checked = name != "moto"
        if checked and grew > growth_limit_kib:
            failures.append(f"{name}: VmRSS grew {grew / 1024:.1f} MiB after warm-up")
        rows.append(
            f"| {name} | {samples[0][1] / 1024:.1f} | {baseline / 1024:.1f} | {end / 1024:.1f} | "
            f"{peak / 1024:.1f} | {grew / 1024:+.1f} | {slope:+.2f} | "
            f"{max(s[3] for s in samples)} | {'yes' if checked else 'not checked'} |"
        )
    return rows, failures


def panics(driver):
    found = []
    for name, server in driver.servers.items():
        with open(server["log"], errors="replace") as log:
            text = log.read()
        if "panicked" in text:
            found.append(name)
        server["errors"] = text.count(" ERROR ")
        server["warnings"] = text.count(" WARN ")
    return found


def main():
    parser = argparse.ArgumentParser()
    for option in ("servers", "moto", "proxy-mode", "sqlite", "table", "queue", "bin-dir",
                   "report"):
        parser.add_argument(f"--{option}", default="")
    for option in ("duration", "fault", "moto-pid", "proxy-pid"):
        parser.add_argument(f"--{option}", type=int, required=True)
    args = parser.parse_args()
    driver = Driver(args)
    wall_start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    asyncio.run(driver.run())
    verification = driver.verify()
    rss_rows, rss_failures = rss_report(driver, int(os.environ["SOAK_RSS_GROWTH_MIB"]) * 1024)
    panicked = panics(driver)

    lines = [f"Started {wall_start}; traffic {driver.load_seconds:.0f} s; binaries "
             f"{args.bin_dir}; {os.cpu_count()} CPUs (shared); sign workers "
             f"{os.environ['SOAK_SIGN_WORKERS']}, events workers "
             f"{os.environ['SOAK_EVENTS_WORKERS']} per sink.", ""]
    if driver.fault_events:
        lines.append("Fault window: " + "; ".join(f"{t:.0f} s {w}" for t, w in driver.fault_events)
                     + ".")
        lines.append("")
    lines += ["| target | class | requests | statuses | injected 503 | p50 ms | p99 ms |",
              "|---|---|---:|---|---:|---:|---:|"]
    totals = collections.Counter()
    for (target, klass), counter in sorted(driver.stats.by_class.items()):
        latencies = sorted(driver.stats.latency[(target, klass)])
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(counter.items()))
        total = sum(counter.values())
        totals[target] += total
        lines.append(f"| {target} | {klass} | {total} | {statuses} | "
                     f"{driver.stats.injected[(target, klass)]} | {p50:.1f} | {p99:.1f} |")
    lines.append("")
    lines.append("Requests per target (during the load): " + ", ".join(
        f"{t} {n} ({n / driver.load_seconds:.0f}/s)" for t, n in sorted(totals.items())) + "; "
        f"all {sum(totals.values())} ({sum(totals.values()) / driver.load_seconds:.0f}/s).")
    lines += ["", "| sink | acknowledged events | rows/messages | lost | stored twice "
              "| 503 never re-acknowledged (stored) | refused but stored | unknown rows "
              "| attributed | misattributed |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in verification:
        lines.append(f"| {r['sink']} | {r['acknowledged']} | {r['stored_rows']} | {r['lost']} | "
                     f"{r['doubled']} | {r['never_acknowledged']} ({r['never_acknowledged_stored']})"
                     f" | {r['refused_stored']} | {r['unknown_rows']} | {r['attributed']} | "
                     f"{r['misattributed']} |")
    lines += ["", "| process | VmRSS first MiB | after warm-up | end | VmHWM peak | growth "
              "| MiB/min (2nd half) | threads max | checked |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    lines += rss_rows
    logs = ", ".join(f"{n}: {s['errors']} ERROR, {s['warnings']} WARN"
                     for n, s in driver.servers.items())
    lines += ["", f"Log lines: {logs}."]

    if driver.stats.unexpected_samples:
        lines += ["", "First unexpected answers: " + "; ".join(
            f"{at:.1f} s {target} {klass} {status} after {took * 1000:.0f} ms"
            for at, target, klass, status, took in driver.stats.unexpected_samples) + "."]
    failures = list(rss_failures)
    failures += [f"{t} {k}: {n} unexpected {s}" for (t, k, s), n in
                 sorted(driver.stats.unexpected.items())]
    failures += [f"{t} {k}: {n} connection errors outside the fault window"
                 for (t, k, w), n in sorted(driver.stats.transport.items()) if w == "unexpected"]
    for r in verification:
        for key in ("lost", "doubled", "refused_stored", "unknown_rows", "misattributed",
                    "never_acknowledged"):
            if r[key]:
                failures.append(f"{r['sink']}: {r[key]} {key.replace('_', ' ')}")
    if driver.stats.by_class[("sign", "sign_hot_caller")][429] == 0:
        failures.append("sign: the hot caller was never rate limited")
    failures += [f"{name}: panicked (see its log)" for name in panicked]
    injected_transport = sum(n for (_, _, w), n in driver.stats.transport.items()
                             if w == "injected")
    lines += ["", f"Connection errors inside the fault window: {injected_transport}.", ""]
    lines.append("Result: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    report = "\n".join(lines) + "\n"
    print(report)
    if args.report:
        with open(args.report, "w") as handle:
            handle.write(report)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
