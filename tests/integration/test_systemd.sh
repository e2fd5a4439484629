#!/usr/bin/env bash
# test_systemd.sh — the unit files pass `systemd-analyze verify`, and `make install` with
# PREFIX and DESTDIR installs programs and units with ExecStart pointing at the installed programs,
# man pages that `man --warnings` renders without a warning, and commented example configs
# that pass the programs' own configuration validation. Boot order: no unit gives up while what
# it needs is not up yet, and an applier started before its journal exists waits for it.
source "$(dirname "$0")/../harness.sh"

dest=$H_DIR/root
make -s -C "$H_ROOT" BUILD="$FL_BUILD" PREFIX=/opt/fl DESTDIR="$dest" install >"$H_DIR/install.log" 2>&1
t_check "make install succeeds" test $? -eq 0
for p in fl-relay fl-apply fl-dump; do
  t_check "installed $p" test -x "$dest/opt/fl/bin/$p"
done
units=$dest/opt/fl/lib/systemd/system
t_check "installed fl-relay.service" test -f "$units/fl-relay.service"
t_check "installed fl-apply@.service" test -f "$units/fl-apply@.service"
t_check "ExecStart uses PREFIX" grep -q '^ExecStart=/opt/fl/bin/fl-relay -c' "$units/fl-relay.service"

# ---- man pages --------------------------------------------------------------------------------
for page in man1/fl-dump.1 man5/fastlane.conf.5 man8/fl-relay.8 man8/fl-apply.8; do
  f=$dest/opt/fl/share/man/$page
  t_check "installed $page" test -f "$f"
  warnings=$(man --warnings -l "$f" 2>&1 >/dev/null)
  t_eq "man --warnings finds nothing in $page" "" "$warnings"
done
# every long option a program's --help lists is in its man page
for p in fl-relay:man8/fl-relay.8 fl-apply:man8/fl-apply.8 fl-dump:man1/fl-dump.1; do
  prog=${p%%:*}; page=$dest/opt/fl/share/man/${p#*:}
  missing=""
  for o in $("$dest/opt/fl/bin/$prog" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$(sed 's/-/\\\\-/g' <<<"$o")" "$page" || missing="$missing $o"
  done
  t_eq "$prog(${page##*.}) documents every option of --help" "" "$missing"
done

# ---- example configurations ---------------------------------------------------------------------
conf=$dest/etc/fastlane
for f in relay.ini.example apply.ini.example; do
  t_check "installed /etc/fastlane/$f" test -f "$conf/$f"
done
# The examples name files under /etc/fastlane and /var/lib/fastlane: make them under DESTDIR,
# point the copies there, and let each program validate its example before it reaches out.
mkdir -p "$H_DIR/var"
echo "example-password" > "$conf/db.password"
chmod 600 "$conf/db.password" # secret files are refused when others may read them
for f in relay apply; do
  sed -e "s#/etc/fastlane/#$conf/#g" -e "s#/var/lib/fastlane/#$H_DIR/var/#g" "$conf/$f.ini.example" > "$H_DIR/$f.ini"
done
timeout 30 "$dest/opt/fl/bin/fl-relay" -c "$H_DIR/relay.ini" --check > "$H_DIR/relay-check.out" 2>&1
rc=$?
t_check "relay.ini.example passes validation (--check gets as far as connecting)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'cannot connect to the source' '$H_DIR/relay-check.out'"
timeout 30 "$dest/opt/fl/bin/fl-apply" -c "$H_DIR/apply.ini" --status > "$H_DIR/apply-status.out" 2>&1
rc=$?
t_check "apply.ini.example passes validation (--status gets as far as the journal)" \
  bash -c "[ $rc -eq 1 ] && ! grep -q 'apply.ini:[0-9]' '$H_DIR/apply-status.out' && grep -q journal '$H_DIR/apply-status.out'"

if command -v systemd-analyze >/dev/null; then
  # verify against the installed copies, with ExecStart rewritten to where they really are
  v=$H_DIR/verify; mkdir -p "$v"
  for u in "$units"/*.service; do sed "s#/opt/fl/bin/#$dest/opt/fl/bin/#g" "$u" > "$v/$(basename "$u")"; done
  cp "$v/fl-apply@.service" "$v/fl-apply@cache1.service"
  out=$(systemd-analyze verify "$v/fl-relay.service" "$v/fl-apply@cache1.service" 2>&1)
  t_eq "systemd-analyze verify is clean" "" "$out"
  for u in "$v/fl-relay.service" "$v/fl-apply@.service"; do
    for k in 'Type=notify' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'Restart=on-failure' 'StateDirectory=fastlane' 'User=fastlane'; do
      t_check "$(basename "$u") has $k" grep -q "^$k" "$u"
    done
  done
  # boot order: nothing gives up while the database, the cache or the journal is not there yet
  for u in "$v/fl-relay.service" "$v/fl-apply@.service"; do
    t_check "$(basename "$u") never reaches a start limit" \
      bash -c "sed -n '/^\[Unit\]/,/^\[/p' '$u' | grep -qx 'StartLimitIntervalSec=0'"
    t_check "$(basename "$u") restarts after a pause" grep -qx 'RestartSec=10s' "$u"
  done
  t_check "fl-relay.service runs no --check that fails while the database is down" \
    bash -c "! grep -q '^ExecStartPre=.*--check' '$v/fl-relay.service'"
else
  t_fail "systemd-analyze available" "not installed"
fi

# ---- boot order: an applier started before the relay made its journal ------------------------
h_start_redis
bj=$H_DIR/boot-journal
cat > "$H_DIR/boot.ini" <<CFG
[apply]
name = boot
journal = $bj
target = redis://127.0.0.1:$REDIS_PORT/0
[rule t]
table = mysql.t
key = t:{f3}
CFG
"$FL_BUILD/fl-apply" -c "$H_DIR/boot.ini" > "$H_DIR/boot.log" 2>&1 &
boot_pid=$!
h_register $boot_pid
t_check "an applier without its journal says it waits for it" \
  h_wait_until 20 grep -q "journal $bj does not exist yet or is being created" "$H_DIR/boot.log"
t_check "... and keeps waiting" kill -0 $boot_pid
"$FL_BUILD/fl-relay" --journal "$bj" --binlog-file "$H_ROOT/tests/fixtures/mysql-binlogs/mysql-enum-string-set.000001" \
  > "$H_DIR/boot-ingest.log" 2>&1
t_check "... then applies the journal once it is there" \
  h_wait_until 30 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET fastlane:checkpoint:boot seq)\" = 5 ]"
t_check "... and says so" grep -q "journal $bj is there" "$H_DIR/boot.log"
kill -TERM $boot_pid; wait $boot_pid; rc=$?
t_eq "... and stops on SIGTERM with status 0" 0 "$rc"

"$FL_BUILD/fl-apply" -c <(sed "s#$bj#$H_DIR/never#" "$H_DIR/boot.ini") > "$H_DIR/never.log" 2>&1 &
never_pid=$!
h_register $never_pid
h_wait_until 20 grep -q "does not exist yet" "$H_DIR/never.log"
kill -TERM $never_pid; wait $never_pid; rc=$?
t_eq "an applier still waiting for its journal stops on SIGTERM with status 0" 0 "$rc"
timeout 20 "$FL_BUILD/fl-apply" -c <(sed "s#$bj#$H_DIR/never#" "$H_DIR/boot.ini") --once > "$H_DIR/once.log" 2>&1; rc=$?
t_check "--once does not wait for a missing journal: it says so and exits 1" \
  bash -c "[ $rc -eq 1 ] && grep -q 'no such directory' '$H_DIR/once.log'"
t_done
