#!/usr/bin/env bash
# What a merchant app links, measured against its budget (issue: crates by layer):
#   crates compiled into libsmartpos_merchant_ffi.so   <= 40  (cargo tree -e normal,no-proc-macro;
#       proc-macro crates run only at build time and are counted separately)
#   the stripped release library                   <= 1 MiB (host target; Android ABIs are similar)
# Prints both figures and fails when one is over budget.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MAX_CRATES=${MAX_CRATES:-40}
MAX_BYTES=${MAX_BYTES:-1048576}
command -v strip >/dev/null || { echo "merchant-ffi-budget: 'strip' is missing (Debian: binutils)" >&2; exit 1; }

linked=$(cargo tree -p smartpos-merchant-ffi -e normal,no-proc-macro --prefix none | sed 's/ (\*)//' | sort -u)
all=$(cargo tree -p smartpos-merchant-ffi -e normal --prefix none | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u)
n_linked=$(echo "$linked" | wc -l)
n_build=$(( $(echo "$all" | wc -l) - n_linked ))

cargo build --quiet --release -p smartpos-merchant-ffi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
lib="$TARGET_DIR/release/libsmartpos_merchant_ffi.so"
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$lib"
bytes=$(stat -c %s "$stripped")

echo "smartpos-merchant-ffi: $n_linked crates linked (budget $MAX_CRATES; $n_build more run only at build time, proc macros and their inputs)"
echo "smartpos-merchant-ffi: $bytes bytes stripped ($(( bytes / 1024 )) KiB; budget $(( MAX_BYTES / 1024 )) KiB)"
echo "$linked" | sed 's/^/  linked: /'
[ "$n_linked" -le "$MAX_CRATES" ] || { echo "merchant-ffi-budget: $n_linked crates linked, over the budget of $MAX_CRATES" >&2; exit 1; }
[ "$bytes" -le "$MAX_BYTES" ] || { echo "merchant-ffi-budget: $bytes bytes stripped, over the budget of $MAX_BYTES" >&2; exit 1; }
