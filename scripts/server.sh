# Sourced by the demo scripts: `start_server BIN DIR` seeds beibao-server's SQLite database in
# DIR/server with the fixtures, serves it (and the web console from ui/dist) on a free loopback
# port (log in DIR/server.log, stopped when the script exits) and waits for its health check.
# Sets `srv` (the binary) and `port`.
start_server() {
  srv="$1/beibao-server"
  export BEIBAO_DATABASE="$2/server/beibao.db"
  "$srv" seed --fixtures fixtures
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$srv" serve --listen "127.0.0.1:$port" --console "$PWD/ui/dist" 2>"$2/server.log" &
  server_pid=$!
  trap 'kill $server_pid 2>/dev/null || true' EXIT
  python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/health", timeout=1); break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("beibao-server did not start")
PY
}
