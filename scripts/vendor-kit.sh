#!/usr/bin/env bash
# Runs the conformance kit against a Kotlin driver set on the host JVM, in one command:
#   scripts/vendor-kit.sh [PROJECT_DIR]      (default: sample-apps/vendor-driver)
# PROJECT_DIR is a Maven project laid out like sample-apps/vendor-driver (copy it as the
# template for your own drivers): its tests call runConformance(...) on your drivers.
# Builds the terminal bindings library (smartpos-terminal-ffi), generates the Kotlin bindings (uniffi, library mode) and runs
# `mvn test` in the project. Needs cargo, a JDK 17 and Maven.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROJECT="$(cd "${1:-$ROOT/sample-apps/vendor-driver}" && pwd)"
for tool in cargo mvn java; do
  command -v "$tool" > /dev/null || { echo "vendor-kit: $tool is missing" >&2; exit 2; }
done
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
(cd "$ROOT" && cargo build --quiet -p smartpos-terminal-ffi)
GEN="$TARGET/uniffi-kotlin-vendor"
rm -rf "$GEN" && mkdir -p "$GEN"
(cd "$ROOT" && cargo run --quiet -p uniffi-bindgen -- generate --no-format \
  --library "$TARGET/debug/libsmartpos_terminal_ffi.so" --language kotlin --out-dir "$GEN")
cd "$PROJECT"
mvn -B --no-transfer-progress test -Duniffi.generated="$GEN" -Dnative.lib.dir="$TARGET/debug"
echo "vendor-kit: the conformance tests of $PROJECT passed"
