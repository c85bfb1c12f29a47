#!/usr/bin/env bash
# Time to first payment: follows the merchant-app quickstart (sdk-docs/src/quickstart/merchant.md)
# as a new developer would, from a fresh clone: install the command, then every sh block of the
# page in order. Prints the minutes from clone to the quickstart's final check.
#   scripts/time-to-first-payment.sh [REPO]     (default: this checkout; a URL works too)
# Needs git and a Rust toolchain (what the README asks for); uses port 18583 on loopback.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SOURCE="${1:-$ROOT}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
git clone --quiet "$SOURCE" "$WORK/smartpos"
cd "$WORK/smartpos"
cargo install --locked --quiet --path cli --root "$WORK/tools"
installed=$(date +%s)
export PATH="$WORK/tools/bin:$PATH"
# The page's sh blocks, in order, as one script.
awk '/^```sh$/ {on=1; next} /^```/ {on=0} on' sdk-docs/src/quickstart/merchant.md > "$WORK/quickstart.sh"
out=$(bash -euo pipefail "$WORK/quickstart.sh")
end=$(date +%s)
last=$(printf '%s\n' "$out" | grep -v '^\s*$' | tail -1)
if [ "$last" != "QUICKSTART OK" ]; then
  printf '%s\n' "$out" >&2
  echo "time-to-first-payment: the quickstart did not end in its check" >&2
  exit 1
fi
printf 'time to first payment: %d min %02d s (clone and install %d s, the quickstart %d s)\n' \
  $(( (end - start) / 60 )) $(( (end - start) % 60 )) $(( installed - start )) $(( end - installed ))
