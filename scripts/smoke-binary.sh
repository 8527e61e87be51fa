#!/usr/bin/env bash
# Smoke test of the compiled binary: copied alone into an empty directory, it starts, creates its
# data dir, serves /, the assets and /health, and stops on SIGTERM with exit 0.
# Prints one line per check, "ok <name>" or "FAIL <name>"; exit status is the number of failures.
set -u
bin="${1:?usage: smoke-binary.sh dist/gridcast}"
work=$(mktemp -d)
cp "$bin" "$work/gridcast"
cd "$work" || exit 1
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
fails=0
check() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fails=$((fails+1)); fi; }

env -u DATABASE_URL ./gridcast serve --port "$port" > log.txt 2>&1 &
pid=$!
healthy=no
for _ in $(seq 1 300); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || true)
  [ "$code" = 200 ] && { healthy=yes; break; }
  sleep 0.1
done
check "binary: /health 200 on a new data dir" '[ "$healthy" = yes ]'
check "binary: created ./.gridcast" '[ -d .gridcast/pglite ]'
check "binary: serves the page shell" 'curl -sf "http://127.0.0.1:$port/" | grep -q "/static/hx-ws.min.js"'
check "binary: serves embedded htmx" 'curl -sf "http://127.0.0.1:$port/static/htmx.min.js" | grep -q htmx'
check "binary: no traversal" '[ "$(curl -s --path-as-is -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/static/../../etc/passwd")" = 404 ]'
kill -TERM "$pid"
wait "$pid"; code=$?
check "binary: SIGTERM exits 0" '[ "$code" = 0 ]'
[ "$fails" = 0 ] || cat log.txt
cd / && rm -rf "$work"
exit "$fails"
