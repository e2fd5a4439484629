#!/usr/bin/env bash
# test_dashboard.sh — contrib/grafana-dashboard.json parses, and every metric its queries name
# is exported by a running fl-relay (with a snapshot) or fl-apply (scraped from /metrics).
source "$(dirname "$0")/../harness.sh"

DASH=$H_ROOT/contrib/grafana-dashboard.json
t_check "the dashboard is valid JSON with panels" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["panels"] and all(p["targets"] for p in d["panels"])' "$DASH"

h_start_mariadb
h_start_redis
h_sql "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v INT)" || h_die "schema"
RELAY_METRICS=$(h_free_port); APPLY_METRICS=$(h_free_port)
{ h_source_config; cat <<CFG
start = earliest
[journal]
path = $H_DIR/journal
[metrics]
listen = 127.0.0.1:$RELAY_METRICS
[snapshot]
tables = app.t
CFG
} > "$H_DIR/relay.ini"
cat > "$H_DIR/apply.ini" <<CFG
[apply]
name = dash
journal = $H_DIR/journal
target = redis://127.0.0.1:$REDIS_PORT/0
[metrics]
listen = 127.0.0.1:$APPLY_METRICS
[rule t]
table = app.t
key = t:{id}
CFG
mkdir -p "$H_DIR/journal"
"$FL_BUILD/fl-relay" -c "$H_DIR/relay.ini" 2>"$H_DIR/relay.log" & h_register $!
h_wait_until 20 test -f "$H_DIR/journal/data.mdb" || h_die "the relay did not create its journal"
"$FL_BUILD/fl-apply" -c "$H_DIR/apply.ini" 2>"$H_DIR/apply.log" & h_register $!
h_sql "INSERT INTO app.t VALUES (1, 1)"
h_wait_until 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT GET t:1)\" = '{\"id\":1,\"v\":1}' ]" ||
  t_fail "the row reached Redis"
scrape() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics"; }
h_wait_until 20 bash -c "curl -s --max-time 5 http://127.0.0.1:$APPLY_METRICS/metrics | grep -q '^fastlane_apply_transactions_total [1-9]'" ||
  t_fail "the applier's metrics count the transaction"
t_check "the relay's metrics count the initial snapshot of app.t" h_wait_until 20 bash -c \
  "curl -s --max-time 5 http://127.0.0.1:$RELAY_METRICS/metrics | grep -qx 'fastlane_relay_snapshot_tables_completed_total 1'"
exported=$( { scrape "$RELAY_METRICS"; scrape "$APPLY_METRICS"; } | awk '/^fastlane_/ { sub(/[{ ].*/, ""); print }' | sort -u)
t_check "both programs export metrics" test "$(wc -l <<<"$exported")" -gt 10
named=$(python3 -c '
import json, re, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]:
        for m in re.findall(r"fastlane_[a-z_]+", t["expr"]): print(m)' "$DASH" | sort -u)
t_check "the dashboard names metrics" test -n "$named"
missing=$(comm -23 <(echo "$named") <(echo "$exported"))
t_eq "every metric the dashboard names is exported" "" "$missing"
t_done
