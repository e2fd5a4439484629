#!/usr/bin/env bash
# Writes valid journal records into DIR, the seed corpus of fuzz_record. The generator is
# built from the codec's own sources, so the seeds always match the current format.
set -eu
dir=$(cd "${1:?usage: seeds_record.sh DIR}" && pwd)
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror -I. -O1 -o "$tmp/seeds_record" tests/fuzz/seeds_record.c \
  journal/record.c common/txn.c common/txn_json.c common/value.c common/gtid.c common/buf.c common/crc32c.c common/error.c -lm -lpthread
"$tmp/seeds_record" "$dir"
