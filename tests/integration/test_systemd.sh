#!/usr/bin/env bash
# test_systemd.sh — the unit files pass `systemd-analyze verify`, and `make install` with
# PREFIX and DESTDIR installs programs and units with ExecStart pointing at the installed programs.
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
else
  t_fail "systemd-analyze available" "not installed"
fi
t_done
