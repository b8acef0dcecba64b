#!/usr/bin/env bash
# HTTP load benchmark: the sign and events binaries under wrk, beside Tencent's Node sample.
#
#   benches/load.sh                  every run, 10 s each (a few minutes after the build)
#   DURATION=2s benches/load.sh      a quick smoke run
#
# What it runs, each on a freshly started process, loaded from this machine with wrk:
#   - sign, POST /v1/upload-signature with a valid HS256 token, at each of CONNECTIONS
#     (SIGN_RATE_LIMIT=off), and once at LIMITED_CONNECTIONS with the limiter on but set too high
#     to refuse (1000000/1s), to show what checking it costs;
#   - sign, GET /healthz at the same concurrency: the ceiling of our HTTP stack;
#   - the Node reference (benches/node-reference: Express + jsonwebtoken + Tencent's
#     createFileUploadSignature), POST /v1/upload-signature with the same token;
#   - events with a SQLite sink, POST /v1/vod/events with one signed, attributed NewFileUpload
#     callback (T = now + 1200, Sign = md5(key + T)): stored once, then the dedup path;
#   - time to first answer (exec to the first 200 from /healthz), STARTS times each, median;
#   - Lambda cold start of sign and events under benches/lambda_init.py, a Runtime API emulator:
#     init (exec to the first /next) and the first invocation's answer, STARTS times each.
# Each load row reports requests/s, p50 and p99 latency (wrk --latency), errors (non-2xx answers
# plus socket errors) and the server's peak and current resident memory after the load (VmHWM,
# VmRSS). The servers log one line per request, as in production, to a file that is deleted after
# the run.
#
# Settings (environment): DURATION (10s), WARMUP (2s of load before each measured run, not
# counted; 0 skips it), CONNECTIONS ("1 32 256"), LIMITED_CONNECTIONS (32), THREADS (2, wrk
# threads, never more than the connections), STARTS (20).
#
# Needs cargo, python3, curl, node and npm; installs wrk with apt-get if it is missing. Prints a
# Markdown table and writes it to benches/results.md. On demand only: tests/run never calls it,
# and the numbers mean something only on an otherwise idle machine (wrk shares its cores).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-1 32 256}
LIMITED_CONNECTIONS=${LIMITED_CONNECTIONS:-32}
THREADS=${THREADS:-2}
STARTS=${STARTS:-20}

JWT_SECRET=load-benchmark-hs256-secret-0123456789
CONTEXT_KEY=load-benchmark-context-key
CALLBACK_KEY=LoadBenchmarkCallbackKey
# Placeholder VOD credentials: signatures are well formed, VOD would refuse them.
SIGN_ENV=(
  VOD_SECRET_ID=AKIDloadBenchmarkPlaceholder0123456789
  VOD_SECRET_KEY=load-benchmark-placeholder-secret-key
  JWT_HS256_SECRET="$JWT_SECRET"
  VODGATE_CONTEXT_KEY="$CONTEXT_KEY"
)
EVENTS_ENV=(VOD_CALLBACK_KEYS="$CALLBACK_KEY" VODGATE_CONTEXT_KEY="$CONTEXT_KEY")
NODE_ENV=(
  VOD_SECRET_ID=AKIDloadBenchmarkPlaceholder0123456789
  VOD_SECRET_KEY=load-benchmark-placeholder-secret-key
  JWT_HS256_SECRET="$JWT_SECRET"
)

fail() {
  echo "load.sh: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Tools

for tool in cargo python3 curl node npm; do
  command -v "$tool" >/dev/null || fail "$tool is required (see the comment at the top)"
done
if ! command -v wrk >/dev/null; then
  echo "==> installing wrk with apt-get"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if ! command -v apt-get >/dev/null \
    || ! { "${sudo[@]}" apt-get update -qq \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null; then
    fail "could not install wrk: this needs apt-get (Debian or Ubuntu), root or sudo, and access \
to the package mirrors. Install wrk some other way (https://github.com/wg/wrk) and rerun."
  fi
fi

echo "==> building release binaries (sign, events)"
cargo build --release --locked --bin sign --bin events
echo "==> installing the Node reference (npm ci)"
(cd benches/node-reference && npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A clean environment, so nothing from this shell (AWS_LAMBDA_RUNTIME_API, RUST_LOG, …) leaks in.
# A command prefix rather than a function, so that `$!` of a background server is its own pid.
clean_env=(env -i PATH="$PATH" HOME="$HOME")

# ---------------------------------------------------------------------------------------------
# Requests

# An HS256 upload token for sub "load-user", valid for two hours.
token=$(python3 - "$JWT_SECRET" <<'EOF'
import base64, hashlib, hmac, json, sys, time
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
claims = {"sub": "load-user", "scope": "openid vod:upload", "exp": int(time.time()) + 7200}
signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
mac = hmac.new(sys.argv[1].encode(), signing_input.encode(), hashlib.sha256).digest()
print(signing_input + "." + b64(mac))
EOF
)
printf '{"meta":"post_42"}' >"$work/sign-body.json"

# The NewFileUpload fixture carrying the sourceContext of a signature sign issued (in
# $work/issued.json), signed for CALLBACK_KEY with T = now + 1200. Written to $work/callback.json.
write_callback() {
  python3 - "$CALLBACK_KEY" "$work/issued.json" tests/fixtures/callbacks/new_file_upload.json \
    >"$work/callback.json" <<'EOF'
import base64, hashlib, json, sys, time, urllib.parse
key, issued, fixture = sys.argv[1:]
signature = json.load(open(issued))["data"]["signature"]
plaintext = base64.b64decode(signature)[20:].decode()
context = urllib.parse.parse_qs(plaintext)["sourceContext"][0]
body = json.load(open(fixture))
body["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = context
body["T"] = int(time.time()) + 1200
body["Sign"] = hashlib.md5((key + str(body["T"])).encode()).hexdigest()
print(json.dumps(body, separators=(",", ":")))
EOF
}

# ---------------------------------------------------------------------------------------------
# Servers

# start_server NAME ENV... -- COMMAND...: starts it on a free port ($port) and waits for /healthz.
start_server() {
  local name=$1 vars=()
  shift
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  shift
  port=$(free_port)
  server_log="$work/$name.log"
  "${clean_env[@]}" "${vars[@]}" PORT="$port" "$@" >"$server_log" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then
      return
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 20 "$server_log" >&2
  fail "$name did not answer on /healthz"
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  rm -f "$server_log"
}

# check METHOD PATH [CURL ARGS...]: one request, which must answer 200; the body goes to
# $work/answer.json.
check() {
  local method=$1 path=$2 status
  shift 2
  status=$(curl -s -o "$work/answer.json" -w '%{http_code}' -X "$method" "$@" \
    "http://127.0.0.1:$port$path")
  [ "$status" = 200 ] || fail "$method $path answered $status: $(cat "$work/answer.json")"
}

# ---------------------------------------------------------------------------------------------
# Load

rows=()

# memory_mib FIELD: VmHWM or VmRSS of the running server, in MiB.
memory_mib() {
  awk -v field="$1:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"
}

# load LABEL CONNECTIONS PATH BODY_FILE [HEADER...]: loads the running server (a POST of
# BODY_FILE, or a GET if it is ""), adds a row.
load() {
  local label=$1 connections=$2 path=$3 body=$4 args=() header
  shift 4
  for header in "$@"; do
    args+=(-H "$header")
  done
  [ -n "$body" ] && args+=(-s benches/wrk-post.lua)
  local threads=$((connections < THREADS ? connections : THREADS))
  local url="http://127.0.0.1:$port$path"
  echo "==> $label, $connections connection(s), $DURATION"
  if [ "$WARMUP" != 0 ]; then
    WRK_BODY_FILE=$body wrk -t"$threads" -c"$connections" -d"$WARMUP" "${args[@]}" "$url" >/dev/null
  fi
  WRK_BODY_FILE=$body wrk -t"$threads" -c"$connections" -d"$DURATION" --latency "${args[@]}" \
    "$url" >"$work/wrk.txt"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
  errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
    /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
    END { print n + 0 }' "$work/wrk.txt")
  rows+=("| $label | $connections | $rps | $p50 | $p99 | $errors | $(memory_mib VmHWM) | $(memory_mib VmRSS) |")
  echo "    ${rows[-1]}"
}

sign_bin=target/release/sign
events_bin=target/release/events
auth="Authorization: Bearer $token"
json="Content-Type: application/json"

for connections in $CONNECTIONS; do
  start_server sign "${SIGN_ENV[@]}" SIGN_RATE_LIMIT=off -- "$sign_bin"
  check POST /v1/upload-signature -H "$auth" -H "$json" --data-binary @"$work/sign-body.json"
  cp "$work/answer.json" "$work/issued.json"
  load "sign POST /v1/upload-signature" "$connections" /v1/upload-signature \
    "$work/sign-body.json" "$auth" "$json"
  stop_server

  start_server sign "${SIGN_ENV[@]}" SIGN_RATE_LIMIT=off -- "$sign_bin"
  load "sign GET /healthz" "$connections" /healthz ""
  stop_server

  start_server node "${NODE_ENV[@]}" -- node benches/node-reference/server.js
  check POST /v1/upload-signature -H "$auth" -H "$json" --data-binary @"$work/sign-body.json"
  load "Node reference POST /v1/upload-signature" "$connections" /v1/upload-signature \
    "$work/sign-body.json" "$auth" "$json"
  stop_server
done

start_server sign "${SIGN_ENV[@]}" SIGN_RATE_LIMIT=1000000/1s -- "$sign_bin"
check POST /v1/upload-signature -H "$auth" -H "$json" --data-binary @"$work/sign-body.json"
load "sign POST /v1/upload-signature, rate limiter on" "$LIMITED_CONNECTIONS" \
  /v1/upload-signature "$work/sign-body.json" "$auth" "$json"
stop_server

for connections in $CONNECTIONS; do
  start_server events "${EVENTS_ENV[@]}" EVENT_SINK="sqlite:$work/events-$connections.sqlite" \
    -- "$events_bin"
  write_callback
  check POST /v1/vod/events -H "$json" --data-binary @"$work/callback.json"
  load "events POST /v1/vod/events (SQLite, duplicate)" "$connections" /v1/vod/events \
    "$work/callback.json" "$json"
  stop_server
done

# ---------------------------------------------------------------------------------------------
# Time to first answer

# first_answer LABEL ENV... -- COMMAND...: STARTS cold starts; adds a row with median, min, max.
starts=()
first_answer() {
  local label=$1 vars=() times=()
  shift
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  shift
  echo "==> time to first answer: $label, $STARTS starts"
  for run in $(seq "$STARTS"); do
    local port
    port=$(free_port)
    times+=("$("${clean_env[@]}" "${vars[@]//\{run\}/$run}" PORT="$port" \
      python3 benches/first_answer.py "$port" "$@")")
  done
  starts+=("$(printf '%s\n' "${times[@]}" | sort -g | awk -v label="$label" '
    { t[NR] = $1 }
    END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
          printf "| %s | %.1f | %.1f | %.1f | %d |", label, m, t[1], t[NR], NR }')")
  echo "    ${starts[-1]}"
}

first_answer "sign" "${SIGN_ENV[@]}" -- "$PWD/$sign_bin"
first_answer "events (SQLite, new file each start)" "${EVENTS_ENV[@]}" \
  "EVENT_SINK=sqlite:$work/start-{run}.sqlite" -- "$PWD/$events_bin"
first_answer "Node reference" "${NODE_ENV[@]}" -- "$(command -v node)" \
  "$PWD/benches/node-reference/server.js"

# ---------------------------------------------------------------------------------------------
# Lambda cold start

# lambda_start LABEL EVENT ENV... -- COMMAND...: STARTS cold starts under the Runtime API
# emulator (benches/lambda_init.py) with API Gateway v2 event EVENT; adds a row with the medians
# of init (exec to the first /next) and first answer (exec to the first invocation's response).
lambdas=()
lambda_start() {
  local label=$1 event=$2 vars=() inits=() firsts=() line
  shift 2
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  shift
  echo "==> Lambda cold start: $label, $STARTS starts"
  for run in $(seq "$STARTS"); do
    line=$("${clean_env[@]}" "${vars[@]//\{run\}/$run}" TOKEN="$token" \
      BODY_FILE="$work/callback.json" python3 benches/lambda_init.py "$event" "$@")
    inits+=("${line% *}")
    firsts+=("${line#* }")
  done
  lambdas+=("| $label | $(median "${inits[@]}") | $(median "${firsts[@]}") | $STARTS |")
  echo "    ${lambdas[-1]}"
}

# median NUMBER...: the median, to 0.1.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ t[NR] = $1 }
    END { printf "%.1f", NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

write_callback
lambda_start "sign, POST /v1/upload-signature" tests/fixtures/apigw/sign_post.json \
  "${SIGN_ENV[@]}" -- "$PWD/$sign_bin"
lambda_start "events, POST /v1/vod/events (SQLite, new file each start)" \
  tests/fixtures/apigw/events_post.json "${EVENTS_ENV[@]}" \
  "EVENT_SINK=sqlite:$work/lambda-{run}.sqlite" -- "$PWD/$events_bin"

# ---------------------------------------------------------------------------------------------
# Report

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- || commit="$commit (with uncommitted changes)"
report="$work/results.md"
{
  echo "# Load benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, by \`DURATION=$DURATION WARMUP=$WARMUP \
CONNECTIONS=\"$CONNECTIONS\" LIMITED_CONNECTIONS=$LIMITED_CONNECTIONS THREADS=$THREADS \
STARTS=$STARTS benches/load.sh\`."
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), \
Linux $(uname -r); $(rustc --version | cut -d' ' -f1-2), Node $(node --version), \
$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2). wrk runs on the same machine as the server."
  echo
  echo "| run | connections | requests/s | p50 | p99 | errors | VmHWM MiB | VmRSS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Time to first answer (exec to the first 200 from \`GET /healthz\`, HTTP mode), ms:"
  echo
  echo "| binary | median | min | max | starts |"
  echo "|---|---:|---:|---:|---:|"
  printf '%s\n' "${starts[@]}"
  echo
  echo "Lambda cold start under benches/lambda_init.py (a Runtime API emulator on loopback; the"
  echo "function's own init, without Lambda's sandbox start), medians in ms:"
  echo
  echo "| function | init (exec to first /next) | first answer | starts |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${lambdas[@]}"
} >"$report"
cp "$report" benches/results.md
echo
cat benches/results.md
