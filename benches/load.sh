#!/usr/bin/env bash
# HTTP load benchmark: the sign and events binaries under wrk, beside Tencent's Node sample and
# a bare reference server.
#
#   benches/load.sh                          every run, 10 s each (a few minutes after the build)
#   DURATION=2s benches/load.sh              a quick smoke run
#   RATIO_ONLY=1 DURATION=5s benches/load.sh the ratio to the reference only (about a minute)
#
# What it runs, each on a freshly started process, loaded from this machine with wrk:
#   - the ratio: sign POST /v1/upload-signature as a fraction of the bare reference server
#     (benches/reference: axum + tokio + the token's HMAC-SHA256 + the signature's HMAC-SHA1,
#     nothing else; the ceiling of the stack), at RATIO_THREADS wrk threads and RATIO_CONNECTIONS.
#     Each of ROUNDS rounds runs the reference, sign with RUST_LOG=error (no request log line) and
#     sign at the default level (the log line on), in an order rotated each round; the report
#     gives each one's median requests/s and, per sign variant, the median of the per-round ratios
#     (runs minutes apart see different machine load; runs in one round see nearly the same);
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
# Each other load row reports requests/s, p50 and p99 latency (wrk --latency), errors (non-2xx
# answers plus socket errors) and the server's peak and current resident memory after the load
# (VmHWM, VmRSS). The servers log one line per request, as in production (but for the reference
# and the ratio's RUST_LOG=error runs), to a file that is deleted after the run.
#
# Settings (environment): DURATION (10s), WARMUP (2s of load before each measured run, not
# counted; 0 skips it), CONNECTIONS ("1 32 256"), LIMITED_CONNECTIONS (32), THREADS (2, wrk
# threads, never more than the connections), STARTS (20), RATIO_CONNECTIONS (32), RATIO_THREADS
# (1), ROUNDS (3), RATIO_ONLY (0; 1 runs the ratio and nothing else).
#
# Needs cargo, python3, curl, node and npm (not node and npm with RATIO_ONLY=1); installs wrk with
# apt-get if it is missing. Prints Markdown tables and writes them to benches/results.md, or with
# RATIO_ONLY=1 to benches/ratio.md. On demand only: tests/run never calls it, and the absolute
# numbers mean something only on an otherwise idle machine (wrk shares its cores); the ratio
# holds up better on a busy one, since its runs share the machine's state.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-1 32 256}
LIMITED_CONNECTIONS=${LIMITED_CONNECTIONS:-32}
THREADS=${THREADS:-2}
STARTS=${STARTS:-20}
RATIO_CONNECTIONS=${RATIO_CONNECTIONS:-32}
RATIO_THREADS=${RATIO_THREADS:-1}
ROUNDS=${ROUNDS:-3}
RATIO_ONLY=${RATIO_ONLY:-0}

JWT_SECRET=load-benchmark-hs256-secret-0123456789
CONTEXT_KEY=load-benchmark-context-key-0123456789
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

tools=(cargo python3 curl)
[ "$RATIO_ONLY" = 1 ] || tools+=(node npm)
for tool in "${tools[@]}"; do
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

if [ "$RATIO_ONLY" = 1 ]; then
  echo "==> building release binaries (sign)"
  cargo build --release --locked --bin sign
else
  echo "==> building release binaries (sign, events)"
  cargo build --release --locked --bin sign --bin events
  echo "==> installing the Node reference (npm ci)"
  (cd benches/node-reference && npm ci --no-audit --no-fund --silent)
fi
# Apart: an example also enables the dev-dependencies' features (tokio's "process"), and one
# build would give sign those too; built alone, sign is the binary that ships.
echo "==> building the bare reference server (example reference-server)"
cargo build --release --locked --example reference-server

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

# start_server NAME ENV... -- COMMAND...: starts it on a free port ($port) and waits for /healthz
# to answer 200 (for any answer, if NAME is reference: the reference has no /healthz).
start_server() {
  local name=$1 vars=() probe=(-fs)
  [ "$name" != reference ] || probe=(-s)
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
    if curl "${probe[@]}" -o /dev/null "http://127.0.0.1:$port/healthz"; then
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

# median DIGITS NUMBER...: the median, to DIGITS decimals.
median() {
  local digits=$1
  shift
  printf '%s\n' "$@" | sort -g | awk -v digits="$digits" '{ t[NR] = $1 }
    END { printf "%." digits "f", NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

# wrk_run THREADS CONNECTIONS PATH BODY_FILE [HEADER...]: loads the running server (a POST of
# BODY_FILE, or a GET if it is "") for WARMUP, then for DURATION with wrk's report in
# $work/wrk.txt; sets rps and errors (non-2xx answers plus socket errors).
wrk_run() {
  local threads=$1 connections=$2 path=$3 body=$4 args=() header
  shift 4
  for header in "$@"; do
    args+=(-H "$header")
  done
  [ -n "$body" ] && args+=(-s benches/wrk-post.lua)
  threads=$((connections < threads ? connections : threads))
  local url="http://127.0.0.1:$port$path"
  if [ "$WARMUP" != 0 ]; then
    WRK_BODY_FILE=$body wrk -t"$threads" -c"$connections" -d"$WARMUP" "${args[@]}" "$url" >/dev/null
  fi
  WRK_BODY_FILE=$body wrk -t"$threads" -c"$connections" -d"$DURATION" --latency "${args[@]}" \
    "$url" >"$work/wrk.txt"
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.txt")
  errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
    /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
    END { print n + 0 }' "$work/wrk.txt")
}

# load LABEL CONNECTIONS PATH BODY_FILE [HEADER...]: loads the running server with THREADS wrk
# threads (see wrk_run), adds a row.
load() {
  local label=$1 connections=$2 rps errors p50 p99
  shift
  echo "==> $label, $connections connection(s), $DURATION"
  wrk_run "$THREADS" "$@"
  p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
  rows+=("| $label | $connections | $rps | $p50 | $p99 | $errors | $(memory_mib VmHWM) | $(memory_mib VmRSS) |")
  echo "    ${rows[-1]}"
}

sign_bin=target/release/sign
events_bin=target/release/events
reference_bin=target/release/examples/reference-server
auth="Authorization: Bearer $token"
json="Content-Type: application/json"

# ---------------------------------------------------------------------------------------------
# Ratio to the bare reference

# ratio_run NAME ENV... -- COMMAND...: starts the server, checks one signature request, loads it
# at RATIO_CONNECTIONS with RATIO_THREADS wrk threads and appends its requests/s to
# $work/ratio-NAME, one line per round.
ratio_run() {
  local name=$1 rps errors
  start_server "$@"
  check POST /v1/upload-signature -H "$auth" -H "$json" --data-binary @"$work/sign-body.json"
  echo "==> ratio round $round/$ROUNDS: $name, $RATIO_CONNECTIONS connections," \
    "$RATIO_THREADS wrk thread(s), $DURATION"
  wrk_run "$RATIO_THREADS" "$RATIO_CONNECTIONS" /v1/upload-signature "$work/sign-body.json" \
    "$auth" "$json"
  if [ "$errors" != 0 ]; then
    cat "$work/wrk.txt" >&2
    fail "$name: $errors errors under load"
  fi
  stop_server
  echo "$rps" >>"$work/ratio-$name"
  echo "    $rps requests/s"
}

# ratio_of NAME: the median over the rounds of NAME's requests/s over the reference's.
ratio_of() {
  local ratios
  mapfile -t ratios < <(paste "$work/ratio-$1" "$work/ratio-reference" | awk '{ print $1 / $2 }')
  median 2 "${ratios[@]}"
}

# ratio_row LABEL NAME: a table row for NAME's runs.
ratio_row() {
  local runs
  mapfile -t runs <"$work/ratio-$2"
  echo "| $1 | $(median 0 "${runs[@]}") | ${runs[*]} | $(ratio_of "$2") |"
}

ratio_servers=(reference sign-log-off sign-log-on)
read -r load_before _ </proc/loadavg
for round in $(seq "$ROUNDS"); do
  # Rotated, so that no server is always first (or always right after the same one).
  for i in 0 1 2; do
    case ${ratio_servers[(round - 1 + i) % 3]} in
      reference) ratio_run reference "${SIGN_ENV[@]}" -- "$reference_bin" ;;
      sign-log-off)
        ratio_run sign-log-off "${SIGN_ENV[@]}" SIGN_RATE_LIMIT=off RUST_LOG=error -- "$sign_bin"
        ;;
      sign-log-on) ratio_run sign-log-on "${SIGN_ENV[@]}" SIGN_RATE_LIMIT=off -- "$sign_bin" ;;
    esac
  done
done
read -r load_after _ </proc/loadavg
ratio_line="sign / reference: $(ratio_of sign-log-off) (log off), $(ratio_of sign-log-on) (log on)"
echo
echo "$ratio_line"

# ratio_report: the ratio section of the report.
ratio_report() {
  echo "Ratio to the bare reference server (benches/reference: axum + tokio, the token's"
  echo "HMAC-SHA256 and the signature's HMAC-SHA1, nothing else), POST /v1/upload-signature at"
  echo "wrk -t$RATIO_THREADS -c$RATIO_CONNECTIONS, $DURATION per run (after WARMUP=$WARMUP), a fresh process"
  echo "per run; ROUNDS=$ROUNDS rounds of the three, in an order rotated each round. Load average"
  echo "(1 min) $load_before before the runs, $load_after after."
  echo
  echo "| server | requests/s, median | each round | / reference, median of the rounds' ratios |"
  echo "|---|---:|---:|---:|"
  ratio_row "reference (benches/reference)" reference
  ratio_row "sign, RUST_LOG=error (no request log line)" sign-log-off
  ratio_row "sign, default level (request log line on)" sign-log-on
  echo
  echo "$ratio_line"
}

# report_header SETTINGS: the report's title, date, commit, command and machine.
report_header() {
  local commit node=
  commit=$(git rev-parse --short HEAD)
  git diff --quiet HEAD -- || commit="$commit (with uncommitted changes)"
  [ "$RATIO_ONLY" = 1 ] || node=" Node $(node --version),"
  echo "# Load benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, by \`$1 benches/load.sh\`."
  echo
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), \
Linux $(uname -r); $(rustc --version | cut -d' ' -f1-2),$node \
$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2). wrk runs on the same machine as the server."
}

if [ "$RATIO_ONLY" = 1 ]; then
  {
    report_header "RATIO_ONLY=1 DURATION=$DURATION WARMUP=$WARMUP \
RATIO_CONNECTIONS=$RATIO_CONNECTIONS RATIO_THREADS=$RATIO_THREADS ROUNDS=$ROUNDS"
    echo
    ratio_report
  } >"$work/ratio.md"
  cp "$work/ratio.md" benches/ratio.md
  echo
  cat benches/ratio.md
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Load at each of CONNECTIONS

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
  lambdas+=("| $label | $(median 1 "${inits[@]}") | $(median 1 "${firsts[@]}") | $STARTS |")
  echo "    ${lambdas[-1]}"
}

write_callback
lambda_start "sign, POST /v1/upload-signature" tests/fixtures/apigw/sign_post.json \
  "${SIGN_ENV[@]}" -- "$PWD/$sign_bin"
lambda_start "events, POST /v1/vod/events (SQLite, new file each start)" \
  tests/fixtures/apigw/events_post.json "${EVENTS_ENV[@]}" \
  "EVENT_SINK=sqlite:$work/lambda-{run}.sqlite" -- "$PWD/$events_bin"

# ---------------------------------------------------------------------------------------------
# Report

report="$work/results.md"
{
  report_header "DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=\"$CONNECTIONS\" \
LIMITED_CONNECTIONS=$LIMITED_CONNECTIONS THREADS=$THREADS STARTS=$STARTS \
RATIO_CONNECTIONS=$RATIO_CONNECTIONS RATIO_THREADS=$RATIO_THREADS ROUNDS=$ROUNDS"
  echo
  echo "| run | connections | requests/s | p50 | p99 | errors | VmHWM MiB | VmRSS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  ratio_report
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
