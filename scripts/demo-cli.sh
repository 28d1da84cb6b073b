#!/usr/bin/env bash
# `make demo-cli`: the district and catalog from the fixtures, then a day of one officer's tablet
# through the `beibao` CLI on a fresh encrypted store.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q --locked -p beibao-cli -p beibao-fixtures -p beibao-server
bin=target/debug
dir=target/demo
rm -rf "$dir" && mkdir -p "$dir"

export BEIBAO_STORE="$dir/tablet.db" BEIBAO_PIN=246810
now=2026-11-20T09:30:00+08:00
b() { "$bin/beibao" --now "$now" "$@"; }
j() { "$bin/beibao" --now "$now" --json "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }

echo "== 山亭区 fixtures =="
"$bin/beibao-fixtures" summary | head -16
echo "…"
echo
echo "== 西集派出所 OF-03-01: a day on the tablet =="
b init --officer OF-03-01 --from-fixtures fixtures
echo
echo "== 中心服务器: beibao-server on embedded SQLite; the tablet enrolls at the station =="
source scripts/server.sh
start_server "$bin" "$dir"
code=$("$srv" --json enroll-code --officer OF-03-01 | field '["code"]')
echo "-- 一次性注册码 (管理员签发): $code"
b enroll --server "http://127.0.0.1:$port" --code "$code"
echo
echo "== 下村 (offline): the day's work =="
j due --days 30 > "$dir/due.json"
echo "-- 30 天未走访的特殊群体户: $(python3 -c "import json,sys; print(len(json.load(sys.stdin)))" < "$dir/due.json") 户"
household=$(field '[0]["id"]' < "$dir/due.json")
village=$(field '[0]["village"]' < "$dir/due.json")
lat=$(field '[0]["lat"]' < "$dir/due.json")
lon=$(field '[0]["lon"]' < "$dir/due.json")
echo "-- 特殊群体走访 $household"
b visit --household "$household" --purpose special_group_care --persons 1 --minutes 25 --lat "$lat" --lon "$lon" --accuracy 15
echo "-- 身份证换领 (带回办理)"
request=$(j service accept --code HZ02 --household "$household" --applicant "$household-1" \
  --materials old_id_card,hukou_book,photo_fingerprints | field '["id"]')
b service advance --id "$request" --to carried_back
echo "-- 人民调解 (院墙滴水纠纷)"
case=$(j mediation open --kind people --village "$village" | field '["id"]')
b mediation edit --id "$case" --file fixtures/demo/mediation-edits.json
for signer in party:0 party:1 mediator:0; do
  b mediation sign --id "$case" --signer "$signer" --png fixtures/demo/signature.png --strokes fixtures/demo/strokes.json >/dev/null
done
b mediation finalize --id "$case"
echo "-- 反诈宣传"
b publicity --village "$village" --topic anti_fraud --attendees 42 --leaflets 80
echo
echo "== 今日工作 =="
b day
echo
echo "== 本月统计 =="
b totals --from 2026-11-01
echo
b outbox
echo "== 回到有信号处: sync =="
b sync
b sync-status
echo
echo "== 服务器现有数据 =="
"$srv" status
echo
echo "== 派出所窗口 (station desk): the carried-back application is submitted =="
station=$(python3 -c "import json; print(next(o['station'] for o in json.load(open('fixtures/registry/officers.json')) if o['id'] == 'OF-03-01'))")
BEIBAO_ACCOUNT_PASSWORD=demo-desk-password "$srv" create-account --username desk01 --role desk --station "$station"
python3 - "$port" "$request" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1"
def call(path, token=None, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {}))
    return json.load(urllib.request.urlopen(req))
s = call("/accounts/login", body={"username": "desk01", "password": "demo-desk-password"})
print(f"-- desk01 登录 ({s['station']})")
for r in call("/desk/requests?state=carried_back", s["token"])["requests"]:
    print(f"-- 待办: {r['service']} {r['id']} 申请人 {r['applicant']} 民警 {r['officer_id']}")
m = call(f"/desk/requests/{sys.argv[2]}/moves", s["token"], {"from": "carried_back", "to": "submitted"})
print(f"-- 提交审批: {m['outcome']} → {m['state']}")
PY
echo "-- 民警平板同步，收到新状态"
b sync
"$srv" audit --limit 5
