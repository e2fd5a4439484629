#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_NAME.c with clang's libFuzzer + ASan + UBSan and runs each
# for SECONDS on a copy of its seed corpus (tests/fuzz/corpus/NAME, plus the binlog
# fixtures for the decoder targets). Prints "fuzz: N passed, N failed".
set -u
secs=${1:-20}
cd "$(dirname "$0")/../.."
build=build-fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
make -s BUILD=$build CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
  SAN="$san -fsanitize=fuzzer-no-link" "$build/libfastlane.a" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
libs="$(pkg-config --libs lmdb hiredis libmemcached mysqlclient inih libzstd zlib openssl libsystemd) -lev -lm -lpthread"
warnings="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror"
cflags="-std=c17 -D_GNU_SOURCE $warnings -I. $(pkg-config --cflags lmdb hiredis libmemcached mysqlclient inih libzstd zlib openssl libsystemd | sed 's/-I/-isystem /g')"
passed=0; failed=0
for src in tests/fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c); name=${name#fuzz_}
  bin=$build/fuzz/fuzz_$name
  mkdir -p "$build/fuzz"
  if ! clang $cflags -O1 -g $san -fsanitize=fuzzer "$src" "$build/libfastlane.a" $libs -o "$bin"; then
    echo "  fuzz_$name: build failed"; failed=$((failed + 1)); continue
  fi
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  if [ -f "tests/fuzz/seeds_$name.sh" ]; then bash "tests/fuzz/seeds_$name.sh" "$corpus"; fi
  log=$(mktemp)
  if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz/${name}-" "$corpus" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    printf '  fuzz_%-22s ok (%s runs in %ss)\n' "$name" "${execs:-?}" "$secs"
    passed=$((passed + 1))
  else
    echo "  fuzz_$name: FAILED"; tail -40 "$log"; failed=$((failed + 1))
  fi
  rm -rf "$corpus" "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
