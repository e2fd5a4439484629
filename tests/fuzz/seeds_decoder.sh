#!/usr/bin/env bash
# seeds_decoder.sh DIR — seeds for fuzz_decoder: real binlog files of both flavors from the
# fixtures (the target recomputes their checksums, so mutations reach the event bodies).
set -u
out=$1
fix=${FL_FIXTURES:-$(dirname "$0")/../fixtures/mysql-binlogs}
[ -d "$fix" ] || exit 0
for f in mariadb-bin.000001 mysql-enum-string-set.000001 json.binlog.000001 json-opaque.binlog \
         vector.binlog transaction_compression.000001 binlog_transaction_with_GTID_TAG.000001 \
         binlog-invisible-columns.000001 update-full-row.binlog ver_trunk_row_v2.001 \
         binlog_savepoint.000001 time_issue.000001 mysql_type_bit.000001 \
         minimal_row_metadata.000001 bug27213339-bin.000001; do
  [ -f "$fix/$f" ] && cp "$fix/$f" "$out/seed-$f"
done
exit 0
