#!/usr/bin/env bash
# Where a request's time goes: callgrind instruction counts per request for the release sign
# binary (POST /v1/upload-signature with a valid HS256 token, and GET /healthz as the baseline)
# and the events binary (POST /v1/vod/events, a stored duplicate, SQLite sink).
#
#   benches/profile.sh                 REQUESTS=2000 of each
#
# callgrind counts instructions, not seconds, so the numbers repeat run to run whatever else the
# machine is doing. The binary is the release build (LTO, codegen-units=1) re-linked with its
# symbols (`cargo rustc -- -C strip=none`: only the final link runs again), so it is the code that
# ships. Each server is warmed up, its counters zeroed (callgrind_control -z), then REQUESTS
# requests are sent one at a time on one keep-alive connection, and the counters dumped. Prints
# instructions per request and the top functions (inclusive and self); the raw profiles stay in
# target/profile/ for callgrind_annotate or kcachegrind. Needs valgrind; on demand only.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
TOP=${TOP:-25}
out=target/profile
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is required" >&2; exit 1; }

for bin in sign events; do
  echo "==> release $bin with symbols"
  cargo rustc --release --locked --quiet --bin "$bin" -- -C strip=none
  cp "target/release/$bin" "$out/$bin"
done

JWT_SECRET=profile-benchmark-hs256-secret-0123456789
CALLBACK_KEY=ProfileCallbackKey012345
CONTEXT_KEY=profile-context-key-0123456789abcdef
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# profile NAME METHOD PATH BODY_FILE ENV... -- BINARY: one callgrind run, REQUESTS requests.
profile() {
  local name=$1 method=$2 path=$3 body=$4 vars=()
  shift 4
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  local binary=$2 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -i PATH="$PATH" HOME="$HOME" RUST_LOG=info "${vars[@]}" PORT="$port" \
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$name.out" "$binary" \
    >"$work/$name.log" 2>&1 &
  pid=$!
  echo "==> $name: $REQUESTS requests under callgrind"
  python3 - "$port" "$method" "$path" "$body" "$REQUESTS" "$pid" "$JWT_SECRET" <<'PY'
import base64, hashlib, hmac, http.client, json, subprocess, sys, time
port, method, path, body_file, n, pid, secret = sys.argv[1:]
b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
claims = {"sub": "profile-user", "scope": "vod:upload", "exp": int(time.time()) + 7200}
si = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
token = si + "." + b64(hmac.new(secret.encode(), si.encode(), hashlib.sha256).digest())
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
body = open(body_file, "rb").read() if body_file else None
for _ in range(600):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(port))
        conn.request("GET", "/healthz"); conn.getresponse().read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the server did not start")
def send(count):
    for _ in range(count):
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse(); response.read()
        assert response.status == 200, response.status
send(100)
subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
send(int(n))
subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
PY
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  # The dump callgrind_control -d wrote (NAME.out.1): the measured requests only.
  local dump="$out/callgrind.$name.out.1" total
  callgrind_annotate --threshold=100 "$dump" >"$work/self.txt" 2>/dev/null
  callgrind_annotate --threshold=100 --inclusive=yes "$dump" >"$work/inclusive.txt" 2>/dev/null
  total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$work/self.txt")
  echo "    $name: $((total / REQUESTS)) instructions per request ($dump)"
  {
    echo "## $name: $((total / REQUESTS)) instructions per request"
    echo
    echo "Inclusive (a function and everything it calls), then self, top $TOP:"
    echo
    echo '```text'
    grep -E '^ *[0-9,]+ ' "$work/inclusive.txt" | sed -n "2,$((TOP + 1))p" | cut -c1-160
    echo
    grep -E '^ *[0-9,]+ ' "$work/self.txt" | sed -n "2,$((TOP + 1))p" | cut -c1-160
    echo '```'
    echo
  } >>"$work/report.md"
}

printf '{"meta":"post_42"}' >"$work/sign.json"
sign_env=(VOD_SECRET_ID=AKIDprofilePlaceholder VOD_SECRET_KEY=profile-placeholder-secret-key
  JWT_HS256_SECRET="$JWT_SECRET" VODGATE_CONTEXT_KEY="$CONTEXT_KEY" SIGN_RATE_LIMIT=off)
profile sign-healthz GET /healthz "" "${sign_env[@]}" -- "$out/sign"
profile sign-signature POST /v1/upload-signature "$work/sign.json" "${sign_env[@]}" -- "$out/sign"

python3 - "$CALLBACK_KEY" tests/fixtures/callbacks/new_file_upload.json >"$work/callback.json" <<'PY'
import hashlib, json, sys, time
key, fixture = sys.argv[1:]
body = json.load(open(fixture))
body["T"] = int(time.time()) + 1200
body["Sign"] = hashlib.md5((key + str(body["T"])).encode()).hexdigest()
print(json.dumps(body, separators=(",", ":")))
PY
profile events-duplicate POST /v1/vod/events "$work/callback.json" \
  VOD_CALLBACK_KEYS="$CALLBACK_KEY" VODGATE_CONTEXT_KEY="$CONTEXT_KEY" \
  EVENT_SINK="sqlite:$work/events.sqlite" -- "$out/events"

cp "$work/report.md" "$out/report.md"
echo
cat "$out/report.md"
