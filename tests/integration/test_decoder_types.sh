#!/usr/bin/env bash
# test_decoder_types.sh — every MariaDB column type, decoded from the server's own binlog,
# equals what SELECT returns, value for value. A private mariadbd (ROW, FULL image, FULL
# metadata) gets a table with one column of each type; rows with edge values (integer
# limits signed and unsigned, DECIMAL(65,30) negatives, zero and maximum dates, every
# fraction length, 4-byte UTF-8, empty strings, NULL everywhere, large BLOBs, every ENUM/SET
# label, nested JSON, geometry) are inserted, then updated and deleted. The binlog files are
# ingested with `fl-relay --journal J --binlog-file ...` and each change's before/after image
# in `fl-dump --json` is compared with the SELECT snapshot taken at that point.
source "$(dirname "$0")/../harness.sh"

RELAY=$FL_BUILD/fl-relay
DUMP=$FL_BUILD/fl-dump
[ -x "$RELAY" ] && [ -x "$DUMP" ] || h_die "build fl-relay and fl-dump first (FL_BUILD=$FL_BUILD)"

h_start_mariadb
h_log "mariadbd on $MARIADB_SOCK"

# column name, SQL type, and how SELECT shows it for comparison:
#   v  the value as the client prints it (TIMESTAMP in UTC)
#   h  HEX() of the text converted to utf8mb4: the decoded string must be those UTF-8 bytes
#   x  HEX() of the bytes: the decoded value is their base64
#   b  col+0 (BIT)
COLS=(
  "id INT NOT NULL PRIMARY KEY:v"
  "ti TINYINT:v" "tu TINYINT UNSIGNED:v" "si SMALLINT:v" "su SMALLINT UNSIGNED:v"
  "mi MEDIUMINT:v" "mu MEDIUMINT UNSIGNED:v" "i INT:v" "iu INT UNSIGNED:v"
  "bi BIGINT:v" "bu BIGINT UNSIGNED:v"
  "f FLOAT:v" "d DOUBLE:v"
  "dc DECIMAL(10,2):v" "dz DECIMAL(65,30):v" "dn DECIMAL(5,0) UNSIGNED:v" "df DECIMAL(4,4):v"
  "dt DATE:v" "t0 TIME:v" "t1 TIME(1):v" "t3 TIME(3):v" "t6 TIME(6):v"
  "dt0 DATETIME:v" "dt1 DATETIME(1):v" "dt2 DATETIME(2):v" "dt3 DATETIME(3):v"
  "dt4 DATETIME(4):v" "dt5 DATETIME(5):v" "dt6 DATETIME(6):v"
  "ts0 TIMESTAMP NULL:v" "ts2 TIMESTAMP(2) NULL:v" "ts6 TIMESTAMP(6) NULL:v"
  "y YEAR:v"
  "c CHAR(10):h" "cu CHAR(255) CHARACTER SET utf8mb4:h" "vc VARCHAR(300) CHARACTER SET utf8mb4:h"
  "vl VARCHAR(20) CHARACTER SET latin1:h"
  "bn BINARY(4):x" "vb VARBINARY(300):x"
  "tt TINYTEXT:h" "tx TEXT:h" "mt MEDIUMTEXT:h" "lt LONGTEXT:h"
  "tb TINYBLOB:x" "bl BLOB:x" "mb MEDIUMBLOB:x" "lb LONGBLOB:x"
  "e ENUM('a','bb','\\\\','😀'):v" "s SET('x','y','z','😀'):v"
  "b1 BIT(1):b" "b9 BIT(9):b" "b64 BIT(64):b"
  "j JSON:h" "g GEOMETRY:x" "p POINT:x"
)
names=(); ddl=(); kinds=()
for c in "${COLS[@]}"; do
  def=${c%:*}; kinds+=("${c##*:}"); names+=("${def%% *}"); ddl+=("$def")
done
select_list=""
for k in "${!names[@]}"; do
  n=${names[$k]}
  case ${kinds[$k]} in
    h) e="HEX(CONVERT(\`$n\` USING utf8mb4))" ;;
    x) e="HEX(\`$n\`)" ;;
    b) e="\`$n\`+0" ;;
    *) e="\`$n\`" ;;
  esac
  select_list+="${select_list:+, }$e"
done

snapshot() { # FILE: every row, tab-separated, NULL as \N
  mariadb --no-defaults -uroot -S "$MARIADB_SOCK" -N -B --default-character-set=utf8mb4 \
    --init-command="SET time_zone='+00:00'" \
    -e "SELECT $select_list FROM types.every ORDER BY id" > "$1"
}

{
  echo "SET NAMES utf8mb4, sql_mode='', time_zone='+00:00';"
  echo "CREATE DATABASE types;"
  echo "CREATE TABLE types.every ($(IFS=,; echo "${ddl[*]}")) CHARACTER SET utf8mb4;"
  # 1: minimum values, zero dates, empty strings
  cat <<'SQL'
INSERT INTO types.every VALUES (1,
 -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
 -3.40282e38, -1.7976931348623157e308,
 -99999999.99, -99999999999999999999999999999999999.999999999999999999999999999999, 0, -0.9999,
 '0000-00-00', '-838:59:59', '-838:59:58.9', '-838:59:58.999', '-838:59:58.999999',
 '0000-00-00 00:00:00', '1000-01-01 00:00:00.0', '1000-01-01 00:00:00.00', '1000-01-01 00:00:00.000',
 '1000-01-01 00:00:00.0000', '1000-01-01 00:00:00.00000', '1000-01-01 00:00:00.000000',
 '0000-00-00 00:00:00', '1970-01-01 00:00:01.00', '1970-01-01 00:00:01.000001',
 0,
 '', '', '', '', '', '', '', '', '', '', '', '', '', '',
 'a', '', b'0', b'0', b'0',
 '{}', ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(-1.5 2.25)'));
SQL
  # 2: maximum values, 4-byte UTF-8, every ENUM/SET label, nested JSON, large BLOBs
  cat <<'SQL'
INSERT INTO types.every VALUES (2,
 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
 3.40282e38, 1.7976931348623157e308,
 99999999.99, 99999999999999999999999999999999999.999999999999999999999999999999, 99999, 0.9999,
 '9999-12-31', '838:59:59', '838:59:58.9', '838:59:58.999', '838:59:58.999999',
 '9999-12-31 23:59:59', '9999-12-31 23:59:59.9', '9999-12-31 23:59:59.99', '9999-12-31 23:59:59.999',
 '9999-12-31 23:59:59.9999', '9999-12-31 23:59:59.99999', '9999-12-31 23:59:59.999999',
 '2038-01-19 03:14:07', '2038-01-19 03:14:07.99', '2038-01-19 03:14:07.999999',
 2155,
 'abcdefghij', REPEAT('😀', 255), REPEAT('ä😀', 150), 'àéîõü',
 x'00ff7f80', REPEAT(x'00ff', 150),
 REPEAT('t', 255), REPEAT('é', 1000), REPEAT('😀x', 5000), REPEAT('lt', 40000),
 REPEAT(x'01', 255), REPEAT(x'02', 65535), REPEAT(x'03', 100000), REPEAT(x'04', 300000),
 '😀', 'x,y,z,😀', b'1', b'111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
 '{"a": [1, 2.5, "x", null, true, false, {"b": {"c": [[], {}]}}], "😀": "\\u00e9"}',
 ST_GeomFromText('LINESTRING(0 0, 1 1, 2 3)'), ST_GeomFromText('POINT(1e300 -1e-300)'));
SQL
  # 3: NULL in every nullable column
  echo "INSERT INTO types.every (id) VALUES (3);"
  # 4: ordinary values, one per fraction length, a middle ENUM, a two-label SET
  cat <<'SQL'
INSERT INTO types.every VALUES (4,
 -1, 1, -2, 2, -3, 3, -4, 4, -5, 5,
 1.1, 0.1,
 1165.50, -0.000000000000000000000000000001, 42, -0.5,
 '2026-11-24', '12:34:56', '-00:00:01.5', '01:02:03.123', '-01:02:03.000001',
 '2026-11-24 12:34:56', '2026-11-24 12:34:56.7', '2026-11-24 12:34:56.78', '2026-11-24 12:34:56.789',
 '2026-11-24 12:34:56.7891', '2026-11-24 12:34:56.78912', '2026-11-24 12:34:56.789123',
 '2026-11-24 12:34:56', '2026-11-24 12:34:56.78', '2026-11-24 12:34:56.789123',
 1901,
 'tab\there', 'line\nfeed', 'quote"back\\slash', 'x',
 x'61', x'0a0d09',
 'a', 'b', 'c', 'd', x'00', x'', x'ff', x'7f',
 '\\', 'y,z', b'1', b'100000001', b'1000000000000000000000000000000000000000000000000000000000000001',
 '[1, [2, [3, [4, [5]]]]]', NULL, ST_GeomFromText('POINT(3 4)'));
SQL
} > "$H_DIR/insert.sql"
h_sql_file "$H_DIR/insert.sql" || h_die "inserts failed"
snapshot "$H_DIR/s1"
t_eq "four rows inserted" 4 "$(wc -l < "$H_DIR/s1")"

cat > "$H_DIR/update.sql" <<'SQL'
SET NAMES utf8mb4, sql_mode='', time_zone='+00:00';
UPDATE types.every SET ti = ti + 1, dz = -dz, t6 = '00:00:00.000001', dt6 = '2000-02-29 00:00:00.5',
  ts6 = '2001-09-09 01:46:40.123456', vc = 'ö', e = 'bb', s = '', b64 = 0, j = '"only a string"',
  lb = REPEAT(x'05', 70000) WHERE id = 1;
UPDATE types.every SET id = 5, f = NULL, d = NULL, dc = 0, g = ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))') WHERE id = 4;
UPDATE types.every SET tu = 200, cu = 'ü' WHERE id = 3;
SQL
h_sql_file "$H_DIR/update.sql" || h_die "updates failed"
snapshot "$H_DIR/s2"
h_sql "DELETE FROM types.every WHERE id IN (2, 3)" || h_die "delete failed"
# Without FULL row metadata there are no names or labels: columns are @1, @2, ..., an ENUM
# is its index and a SET its bit mask.
h_sql "SET GLOBAL binlog_row_metadata = MINIMAL" || h_die "binlog_row_metadata"
h_sql "INSERT INTO types.every SELECT 6, $(IFS=,; echo "${names[*]:1}") FROM types.every WHERE id = 5" \
  || h_die "minimal-metadata insert failed"
snapshot "$H_DIR/s3"
h_sql "FLUSH BINARY LOGS" || h_die "flush failed"

files=()
while read -r f _; do files+=("$MARIADB_DIR/data/$f"); done < <(h_sql "SHOW BINARY LOGS")
J=$H_DIR/journal
if "$RELAY" --journal "$J" --binlog-file "${files[@]}" >"$H_DIR/relay.out" 2>"$H_DIR/relay.err"; then
  t_ok "fl-relay ingests ${#files[@]} binlog files"
else
  t_fail "fl-relay ingests ${#files[@]} binlog files" "$(grep -v ' INFO ' "$H_DIR/relay.err" | tail -3)"
fi
"$DUMP" --json "$J" > "$H_DIR/dump.json" 2>"$H_DIR/dump.err" || t_fail "fl-dump --json" "$(cat "$H_DIR/dump.err")"

# Compare in Python: each change's images against the snapshots, column by column.
cat > "$H_DIR/check.py" <<'PY'
import base64, json, struct, sys

hdir, names, kinds = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
ok = failed = 0

def report(good, what, detail=""):
    global ok, failed
    if good:
        ok += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what + (": " + detail if detail else ""))

def load(path):
    rows = {}
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        cells = line.rstrip("\n").split("\t")
        rows[int(cells[0])] = cells
    return rows

s1, s2 = load(hdir + "/s1"), load(hdir + "/s2")
changes = []
for line in open(hdir + "/dump.json", encoding="utf-8"):
    txn = json.loads(line)
    for ch in txn.get("changes", []):
        if ch.get("db") == "types" and ch.get("table") == "every":
            changes.append(ch)

def unescape(text):
    # the client's batch output escapes \, tab, newline and NUL
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t", "0": "\0", "\\": "\\"}.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)

def same(kind, sqlname, want, got):
    """want: the SELECT cell; got: the decoded JSON value. Returns an error text or None."""
    if want == "NULL":
        return None if got is None else "want NULL, got %r" % (got,)
    if got is None:
        return "want %r, got null" % want
    if kind in ("h", "x"):  # text: its UTF-8 bytes; binary and geometry: base64 of the bytes
        wb = bytes.fromhex(want)
        if not isinstance(got, str):
            return "want a string, got %r" % (got,)
        if kind == "h":
            gb = got.encode("utf-8", "surrogatepass")
        else:
            try:
                gb = base64.b64decode(got, validate=True)
            except Exception as e:
                return "not base64 (%s): %r" % (e, got[:100])
        if gb == wb:
            return None
        return "want %s%s, got %r" % (want[:80], "..." if len(want) > 80 else "", got[:100])
    if kind == "b":
        return None if got == int(want) else "want %s, got %r" % (want, got)
    want = unescape(want)
    if isinstance(got, bool):
        return "unexpected boolean %r" % got
    if isinstance(got, list):  # SET
        return None if ",".join(got) == want else "want %r, got %r" % (want, got)
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        if sqlname == "f":  # FLOAT: the client prints 6 significant digits
            w = float(want)
            return None if abs(got - w) <= abs(w) * 1e-5 else "want %s, got %r" % (want, got)
        if isinstance(got, float) or "." in want or "e" in want:
            return None if float(want) == got else "want %s, got %r" % (want, got)
        return None if int(want) == got else "want %s, got %r" % (want, got)
    return None if got == want else "want %r, got %r" % (want, got)

def check_image(label, image, row):
    if image is None or row is None:
        report(False, label, "missing image or row")
        return
    bad = []
    for k, n in enumerate(names):
        if n not in image:
            bad.append("%s absent" % n)
            continue
        err = same(kinds[k], n, row[k], image[n])
        if err:
            bad.append("%s: %s" % (n, err))
    extra = set(image) - set(names)
    if extra:
        bad.append("unexpected columns %s" % sorted(extra))
    report(not bad, label, "; ".join(bad))

minimal = [c for c in changes if "@1" in (c.get("after") or {})]
changes = [c for c in changes if c not in minimal]
ops = [(c["op"], (c.get("after") or c.get("before") or {}).get("id")) for c in changes]
want_ops = [("insert", 1), ("insert", 2), ("insert", 3), ("insert", 4),
            ("update", 1), ("update", 5), ("update", 3), ("delete", 2), ("delete", 3)]
report(ops == want_ops, "changes in commit order", "got %r" % (ops,))

# MINIMAL metadata: same values by position, ENUM as index, SET as bit mask
s3 = load(hdir + "/s3")
enum_labels = ["a", "bb", "\\", "\U0001F600"]
set_labels = ["x", "y", "z", "\U0001F600"]
if len(minimal) != 1 or minimal[0]["op"] != "insert":
    report(False, "minimal metadata: one insert named by position", "got %r" % (minimal,))
else:
    img, row, bad = minimal[0]["after"], s3.get(6), []
    for k, n in enumerate(names):
        key, want = "@%d" % (k + 1), row[k]
        if key not in img:
            bad.append("%s absent" % key)
        elif n == "e":
            if img[key] != enum_labels.index(unescape(want)) + 1:
                bad.append("e: want index of %r, got %r" % (want, img[key]))
        elif n == "s":
            mask = sum(1 << set_labels.index(x) for x in unescape(want).split(",") if x)
            if img[key] != mask:
                bad.append("s: want mask %d, got %r" % (mask, img[key]))
        else:
            err = same(kinds[k], n, want, img[key])
            if err:
                bad.append("%s (%s): %s" % (key, n, err))
    if len(img) != len(names):
        bad.append("%d columns, want %d" % (len(img), len(names)))
    report(not bad, "minimal metadata: insert 6 by position, ENUM index, SET mask", "; ".join(bad))

for c in changes:
    if c["op"] == "insert":
        i = c["after"]["id"]
        check_image("insert %d: after image equals SELECT" % i, c["after"], s1.get(i))
    elif c["op"] == "update":
        b, a = c["before"]["id"], c["after"]["id"]
        check_image("update %d: before image equals SELECT" % b, c["before"], s1.get(b))
        check_image("update %d: after image equals SELECT" % a, c["after"], s2.get(a))
    elif c["op"] == "delete":
        b = c["before"]["id"]
        check_image("delete %d: before image equals SELECT" % b, c["before"], s2.get(b))

print("PYRESULT %d %d" % (ok, failed))
PY
python3 "$H_DIR/check.py" "$H_DIR" "$(IFS=,; echo "${names[*]}")" "$(IFS=,; echo "${kinds[*]}")" > "$H_DIR/py.out" 2>&1
cat "$H_DIR/py.out" | grep -v '^PYRESULT'
read -r _ pok pfail < <(grep '^PYRESULT' "$H_DIR/py.out" || echo "PYRESULT 0 1")
T_PASSED=$((T_PASSED + pok)); T_FAILED=$((T_FAILED + pfail))

# MariaDB's old fractional-second format (mysql56_temporal_format=OFF) is logged under the
# classic type codes with no precision: not decodable, and it must say so, not print garbage.
h_sql "SET GLOBAL mysql56_temporal_format = OFF" || h_die "mysql56_temporal_format"
h_sql "CREATE TABLE types.oldtime (id INT PRIMARY KEY, t TIME(3)); INSERT INTO types.oldtime VALUES (1, '01:02:03.5')" \
  || h_die "old-format table"
last=$(h_sql "SHOW BINARY LOGS" | tail -1 | cut -f1)
h_sql "FLUSH BINARY LOGS" || h_die "flush failed"
if "$RELAY" --journal "$H_DIR/j-old" --binlog-file "$MARIADB_DIR/data/$last" >/dev/null 2>"$H_DIR/old.err"; then
  t_fail "old fractional-second format is refused" "exit 0"
else
  msg=$(grep -v ' INFO ' "$H_DIR/old.err")
  if grep -F 'types.oldtime: column' <<<"$msg" | grep -qF 'TIME: value out of range (if the column has fractional seconds'; then
    t_ok "old fractional-second format is refused with a reason"
  else
    t_fail "old fractional-second format is refused with a reason" "got: $msg"
  fi
fi
t_done
