#!/usr/bin/env bash
# `make demo`: a real beibao-server on embedded SQLite with the fixtures, serving the web console,
# with demo accounts (supervisor, station supervisor, desk, admin) and a month of the district's
# field work synced from real tablets (every officer with villages: visits, services, hazards,
# publicity, signed mediations, ratings). Then the officer's tablet app:
# - with a display: the app (debug build) opens against the server with an enrollment code; the
#   console stays at the printed address until the app is closed;
# - without one ($DISPLAY unset): the console's pages are photographed in headless Chromium and
#   the app runs under Xvfb through the same WebDriver flow as the tests; all screenshots go to
#   target/demo/.
# `make demo-cli` is the CLI day.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$PWD/target/demo
rm -rf "$dir" && mkdir -p "$dir"
PASSWORD=beibao-demo-2026

if [ -z "${DISPLAY:-}" ]; then
  cargo build -q --locked -p beibao-server -p beibao-tests --bin beibao-server --bin demo-month
else
  cargo build -q --locked -p beibao-server -p beibao-app -p beibao-tests --bin beibao-server --bin beibao-app --bin demo-month
fi
bin=target/debug
source scripts/server.sh
start_server "$bin" "$dir"
station=PCS-370406102
for account in "chief supervisor" "xiji-chief supervisor $station" "desk-xiji desk $station" "admin admin"; do
  set -- $account
  BEIBAO_ACCOUNT_PASSWORD=$PASSWORD "$srv" create-account --username "$1" --role "$2" ${3:+--station "$3"} >/dev/null
done
echo "Seeding a month of field work from every officer's tablet (a minute or two)…"
"$bin/demo-month" --database "$BEIBAO_DATABASE" --days 30 --per-day 4 2>"$dir/demo-month.log"

echo
echo "管理平台 (web console): http://127.0.0.1:$port/console/"
echo "  督导 supervisor (district):        chief        / $PASSWORD"
echo "  督导 supervisor (西集派出所):       xiji-chief   / $PASSWORD"
echo "  综合窗口 station desk (西集派出所): desk-xiji    / $PASSWORD"
echo "  管理员 admin:                      admin        / $PASSWORD"

if [ -z "${DISPLAY:-}" ]; then
  echo
  echo "No display (\$DISPLAY is unset): the console's pages are photographed in headless Chromium, and"
  echo "the app runs under Xvfb, driven through WebDriver as in the end-to-end tests; the screenshots"
  echo "go to target/demo/."
  # The month most of the seeded work falls in (15 days ago, China time).
  month=$(TZ=Asia/Shanghai date -d '15 days ago' +%Y-%m)
  (cd ui && node e2e/console.mjs tour "http://127.0.0.1:$port" "$dir" \
    "{\"supervisor\":\"chief\",\"desk\":\"desk-xiji\",\"password\":\"$PASSWORD\",\"station\":\"$station\",\"hash\":\"#kind=month&period=$month\"}" >/dev/null)
  BEIBAO_SCREENSHOT_DIR="$dir" cargo test -q --locked -p beibao-app --bench demo
  exit 0
fi

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
