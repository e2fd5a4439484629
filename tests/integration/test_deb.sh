#!/usr/bin/env bash
# test_deb.sh — packaging: `make deb` builds a Debian package with dpkg-buildpackage that holds
# the programs, systemd units, sysusers entry, man pages and example configurations; extracted
# into a fresh root, its programs run (--version names the build). And a plain `make` on a
# machine without the libraries names the packages to install instead of failing in the compiler.
source "$(dirname "$0")/../harness.sh"

out=$H_DIR/build
want=$(git -C "$H_ROOT" describe --tags --always --dirty 2>/dev/null) # the version being packaged
make -s -C "$H_ROOT" BUILD="$out" deb > "$H_DIR/deb.log" 2>&1
t_eq "make deb succeeds" 0 "$?"
[ "$T_FAILED" -eq 0 ] || tail -20 "$H_DIR/deb.log" >&2
deb=$(ls "$out"/deb/fastlane_*.deb 2>/dev/null | head -1)
t_check "a .deb is built" test -f "$deb"
t_check "the source tree is left clean (nothing built under debian/)" \
  bash -c "! [ -e '$H_ROOT/debian/fastlane' ] && ! [ -e '$H_ROOT/debian/files' ]"

contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/bin/fl-relay ./usr/bin/fl-apply ./usr/bin/fl-dump \
         ./lib/systemd/system/fl-relay.service ./lib/systemd/system/fl-apply@.service \
         ./usr/lib/sysusers.d/fastlane.conf \
         ./usr/share/man/man8/fl-relay.8.gz ./usr/share/man/man8/fl-apply.8.gz \
         ./usr/share/man/man1/fl-dump.1.gz ./usr/share/man/man5/fastlane.conf.5.gz \
         ./etc/fastlane/relay.ini.example ./etc/fastlane/apply.ini.example; do
  t_check "the package holds $f" grep -qx -- "$f" <<<"$contents"
done
t_check "the package depends on the libraries it links" \
  bash -c "dpkg-deb -f '$deb' Depends | grep -q libhiredis && dpkg-deb -f '$deb' Depends | grep -q libmariadb"

ctrl=$H_DIR/control
dpkg-deb -e "$deb" "$ctrl"
t_check "the example configurations are conffiles" grep -qx /etc/fastlane/relay.ini.example "$ctrl/conffiles"
t_check "installing creates the fastlane user (systemd-sysusers)" grep -q "systemd-sysusers.*fastlane.conf" "$ctrl/postinst"
t_check "installing starts no unit (the relay has no configuration yet)" bash -c "! grep -q deb-systemd-invoke '$ctrl/postinst'"
# the only "enable" allowed is the one that keeps a unit the operator enabled before an upgrade
unconditional=$(awk '/was-enabled/ { kept = 1 } kept && /^[[:space:]]*fi/ { kept = 0 }
                     /deb-systemd-helper enable/ && !kept { print }' "$ctrl/postinst")
t_eq "installing enables no unit by itself" "" "$unconditional"

# ---- the package in a fresh root ---------------------------------------------------------------
root=$H_DIR/root
dpkg -x "$deb" "$root"
for p in fl-relay fl-apply fl-dump; do
  v=$("$root/usr/bin/$p" --version 2>&1); rc=$?
  t_eq "installed $p --version exits 0" 0 "$rc"
  t_check "installed $p --version names the program and a version ($v)" grep -Eq "^$p \(fastlane\) [^ ]+$" <<<"$v"
done
[ -n "$want" ] && t_eq "the packaged version is the checkout's" "fl-relay (fastlane) $want" "$("$root/usr/bin/fl-relay" --version)"
t_check "the installed unit runs the installed program" \
  grep -q '^ExecStart=/usr/bin/fl-relay -c /etc/fastlane/fastlane.ini' "$root/lib/systemd/system/fl-relay.service"
for page in man8/fl-relay.8.gz man1/fl-dump.1.gz; do
  t_eq "installed $page renders without warnings" "" "$(man --warnings -l "$root/usr/share/man/$page" 2>&1 >/dev/null)"
done

# ---- a build without the libraries says what to install ---------------------------------------
mkdir -p "$H_DIR/no-pc"
PKG_CONFIG_LIBDIR=$H_DIR/no-pc PKG_CONFIG_PATH= make -s -C "$H_ROOT" BUILD="$H_DIR/nolibs" all > "$H_DIR/nolibs.log" 2>&1
rc=$?
t_check "make without the libraries fails" test "$rc" -ne 0
t_check "... naming the Debian packages and make deps" \
  bash -c "grep -q 'missing:.*liblmdb-dev.*libhiredis-dev' '$H_DIR/nolibs.log' && grep -q \"make deps\" '$H_DIR/nolibs.log'"
t_check "... before any compiler error" bash -c "! grep -q 'error:\|fatal' '$H_DIR/nolibs.log'"
t_check "... and compiles nothing" bash -c "! [ -d '$H_DIR/nolibs/obj' ] || [ -z \"\$(find '$H_DIR/nolibs/obj' -name '*.o')\" ]"
t_done
