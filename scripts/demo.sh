#!/usr/bin/env bash
# `make demo`: the officer's tablet app against a real beibao-server on embedded SQLite with the
# fixtures. With a display: the server started and seeded, an enrollment code issued, and the app
# (debug build) opened with the server address filled in; close the app to end. Without one
# ($DISPLAY unset): the app runs under Xvfb through the same WebDriver flow as the tests and the
# screenshots of the day are written to target/demo/. `make demo-cli` is the CLI day.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$PWD/target/demo
rm -rf "$dir" && mkdir -p "$dir"

if [ -z "${DISPLAY:-}" ]; then
  echo "No display (\$DISPLAY is unset): the app runs under Xvfb, driven through WebDriver as in"
  echo "the end-to-end tests, and the screenshots of the officer's day go to target/demo/."
  BEIBAO_SCREENSHOT_DIR="$dir" cargo test -q --locked -p beibao-app --bench demo
  exit 0
fi

cargo build -q --locked -p beibao-server -p beibao-app
bin=target/debug
source scripts/server.sh
start_server "$bin" "$dir"
code=$("$srv" --json enroll-code --officer OF-03-01 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
# The desktop has no GPS: the tablet reports a fixed position in the officer's first village.
fix=$(python3 - <<'PY'
import json
a = [x for x in json.load(open("fixtures/registry/assignments.json")) if x["officer"] == "OF-03-01"]
v = next(x["target"]["code"] for x in a if x["target"]["kind"] == "village")
h = next(h for h in map(json.loads, open("fixtures/registry/households.jsonl")) if h["village"] == v and h.get("location"))
print(f'{h["location"]["lat"]},{h["location"]["lon"]},12')
PY
)
echo
echo "beibao-server: http://127.0.0.1:$port (SQLite in target/demo/server)"
echo "一次性注册码 (enrollment code) for OF-03-01: $code"
echo "Set any 6-digit PIN twice (e.g. 135790). The app's data: target/demo/app. Close the app to end."
BEIBAO_DATA_DIR="$dir/app" BEIBAO_SERVER_URL="http://127.0.0.1:$port" BEIBAO_FAKE_FIX="$fix" "$bin/beibao-app"
