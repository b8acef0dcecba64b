"""Runs a throwaway PostgreSQL cluster for one test process.

    python3 tests/support/postgres_guard.py [--tls]

Creates a cluster in a temporary directory (as the `postgres` user when run as root: initdb
refuses root), starts it on a free loopback port, prints `ready <port>`, then obeys lines on
stdin: `stop` stops the server (answering `stopped`), `start` starts it again on the same port
(answering `ready <port>`). With `--tls` the server also speaks TLS, with a certificate for
`localhost` and `127.0.0.1` from a CA made for the run, whose PEM path follows the port on the
`ready` line. When stdin closes (the test process ended), it stops the server and
deletes the directory, so no cluster outlives the tests.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def tool(name):
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        sys.exit(f"{name} not found: install PostgreSQL (tests/run does: apt-get install postgresql)")
    return found


def as_postgres(command):
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


root = tempfile.mkdtemp(prefix="vodgate-pg-")
data = os.path.join(root, "data")
if os.geteuid() == 0:
    user = pwd.getpwnam("postgres")
    os.chown(root, user.pw_uid, user.pw_gid)
subprocess.run(
    as_postgres([tool("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]),
    check=True,
    stdout=subprocess.DEVNULL,
)
tls = "--tls" in sys.argv[1:]
ca = os.path.join(root, "ca.pem")
if tls:
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=vodgate test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    with open(os.path.join(root, "ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                  "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext")
    for name in ("server.crt", "server.key"):
        shutil.copy(os.path.join(root, name), os.path.join(data, name))
        if os.geteuid() == 0:
            os.chown(os.path.join(data, name), user.pw_uid, user.pw_gid)
        os.chmod(os.path.join(data, name), 0o600)
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
server = None


def start():
    global server
    server = subprocess.Popen(
        as_postgres([
            tool("postgres"), "-D", data, "-p", str(port), "-k", root,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200",
            *(["-c", "ssl=on"] if tls else []),
        ]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            ready = subprocess.run(
                [tool("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
                stdout=subprocess.DEVNULL,
            )
            if ready.returncode == 0:
                print(f"ready {port} {ca}" if tls else f"ready {port}", flush=True)
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("PostgreSQL did not start")


def stop():
    if server and server.poll() is None:
        # pg_ctl signals the postmaster itself (runuser does not pass signals on).
        subprocess.run(
            as_postgres([tool("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.wait(timeout=30)


try:
    start()
    for line in sys.stdin:
        if line.strip() == "stop":
            stop()
            print("stopped", flush=True)
        elif line.strip() == "start":
            start()
finally:
    stop()
    shutil.rmtree(root, ignore_errors=True)
