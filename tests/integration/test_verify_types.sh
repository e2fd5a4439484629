#!/usr/bin/env bash
# test_verify_types.sh — the two readings of a row agree for every column type: what the binlog
# decoder journals (applied to Redis by fl-apply) and what --verify reads with SELECT. A table
# with every MariaDB type, edge values, NULLs and a latin1 column, in json and hash formats.
# (FLOAT and DOUBLE(M,D) are where the text protocol rounds: --verify reads them as DOUBLE.)
source "$(dirname "$0")/../harness.sh"

h_start_mariadb
h_start_redis
J=$H_DIR/journal
mkdir -p "$J"

h_sql "CREATE DATABASE app;
CREATE TABLE app.t (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT,
  mu MEDIUMINT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(30,10),
  dec2 DECIMAL(5,0), dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts2 TIMESTAMP(2) NULL, tm TIME, tm3 TIME(3),
  y YEAR, c CHAR(5), vc VARCHAR(300), bn BINARY(4), vb VARBINARY(10), tb TINYBLOB, bl BLOB, tx TEXT,
  lt LONGTEXT, e ENUM('a','b','c'), s SET('x','y','z'), b1 BIT(1), b64 BIT(64), j JSON, g GEOMETRY,
  lat CHAR(3) CHARACTER SET latin1, u8 VARCHAR(10) CHARACTER SET utf8mb4, ff FLOAT(7,2), dd DOUBLE(10,3))" || h_die "schema"
h_sql "SET NAMES utf8mb4; INSERT INTO app.t VALUES
 (1,-128,255,-32768,-8388608,16777215,-9223372036854775808,18446744073709551615,3.14,0.30000000000000004,
  '12345678901234567890.0123456789',-99999,'1000-01-01','9999-12-31 23:59:59','2026-11-25 12:00:00.000001',
  '2038-01-19 03:14:07.99','-838:59:59','12:34:56.789',1901,'ab  ','x\ty\\\\z\"',x'01',x'ff00',x'',x'000102',
  '',REPEAT('é',100),'c','x,z',b'1',b'1111111111111111111111111111111111111111111111111111111111111111',
  '{\"a\":[1,2.5,\"s\",null,true]}',ST_GeomFromText('POINT(1 2)'),'é','😀 ok',12345.67,1234567.891),
 (2,NULL,NULL,NULL,NULL,NULL,NULL,NULL,1e-10,-1.5e300,0,0,NULL,NULL,NULL,NULL,'00:00:00',NULL,0,'','',NULL,
  NULL,NULL,NULL,NULL,NULL,NULL,'',b'0',b'0',NULL,NULL,NULL,NULL,NULL,NULL),
 (3,0,0,0,0,0,0,0,-0.0,123456789.125,-0.5,1,'2024-02-29','2024-02-29 00:00:00','2024-02-29 00:00:00.5',
  '1970-01-01 00:00:01',NULL,'-00:00:00.001',2155,'z','z',x'ffffffff',x'',NULL,NULL,'t','t','a','',NULL,
  NULL,'[]',NULL,'a','',-0.01,0.001)" || h_die "rows"
h_sql "UPDATE app.t SET d = d * 3, vc = CONCAT(vc, '!'), s = 'y' WHERE id = 3; DELETE FROM app.t WHERE id = 2;
INSERT INTO app.t (id, f, d, tm, s) VALUES (4, 16777217, 2.5e-308, '100:00:00', 'x,y,z')"
h_sql "FLUSH BINARY LOGS"
cat > "$H_DIR/c.ini" <<CFG
$(h_source_config)
start = earliest
[journal]
path = $J
[apply]
target = redis://127.0.0.1:$REDIS_PORT/0
[rule t]
table = app.t
key = t:{id}
[rule th]
table = app.t
key = th:{id}
format = hash
[rule tc]
table = app.t
key = tc:{id}:{s}
format = column:lat
CFG
# The live relay replicates it: it also reads the schema, which tells MariaDB's JSON columns.
mkdir -p "$J"
"$FL_BUILD/fl-relay" -c "$H_DIR/c.ini" >"$H_DIR/relay.log" 2>&1 & RELAY=$!; h_register $RELAY
want=$(h_sql "SELECT @@global.gtid_binlog_pos")
h_wait_until 60 bash -c "'$FL_BUILD/fl-dump' --stats '$J' 2>/dev/null | grep -q '\"last_gtid\":\"$want\"'" \
  || h_die "the relay did not catch up: $(tail -3 "$H_DIR/relay.log")"
kill -TERM $RELAY; wait $RELAY
t_check "a MariaDB JSON column is journaled as JSON, not as a string" \
  bash -c "'$FL_BUILD/fl-dump' --json '$J' | grep -q '\"j\":{\"a\":\\[1,2.5,\"s\",null,true\\]}'"
timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/c.ini" --once >"$H_DIR/apply.log" 2>&1
t_eq "fl-apply --once exits 0" 0 $?
out=$(timeout 60 "$FL_BUILD/fl-apply" -c "$H_DIR/c.ini" --verify 2>&1); rc=$?
echo "$out" | sed 's/^/  | /'
t_eq "verify: every type renders the same from the binlog and from SELECT" 0 "$rc"
t_check "verify: 9 keys match" grep -q "^matching *9$" <<<"$out"
t_eq "the deleted row is gone" 0 "$(h_redis EXISTS t:2)"
t_check "the JSON column reaches Redis as JSON" bash -c "h_redis() { redis-cli -p $REDIS_PORT \"\$@\"; }; h_redis GET t:1 | grep -q '\"j\":{\"a\":\\[1,2.5,\"s\",null,true\\]}'"
t_done
