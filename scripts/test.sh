#!/usr/bin/env bash
# Runs every test of smartpos, after setting up what a fresh machine lacks.
#   Rust: fmt, clippy, unit/integration/doc tests (cargo)
#   Kotlin: uniffi bindings generated in library mode, compiled and tested on the host JVM (Maven + JNA)
#   Android: the merchant SDK (AAR), acquiring app, launcher and sample shop under Robolectric
#            (real core through JNA); the three APKs built, market-signed and verified (build-apks.sh)
#   Peers: pyiso8583 / psec / pyemv cross-checks (pytest, in .cache/venv)
#   Docs: the mdBook site built (mdbook from crates.io, in .cache/mdbook) and its links checked
#   Fuzzing: every fuzz target for a few seconds when a nightly toolchain is installed
# A missing tool is a failure with a message, never a silent skip.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"
# A fresh clone builds everything once: incremental caches would only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==== %s ====\n' "$*"; }
fail() { echo "test.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "required tool '$1' is missing: $2"; }

step "checking tools"
need cargo "install Rust with rustup (https://rustup.rs is not reachable here; the machine image has it)"
need java "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"
need mvn "install Maven (Debian: apt-get install maven)"
need python3 "install Python 3.11 (Debian: apt-get install python3 python3-venv)"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

step "Debian packages (CJK font for receipts, zbar for QR decoding, apksigner/apkverifier/zipalign for APK checks, aapt2/zip to build APKs, strace to count a sale's fsyncs)"
missing=()
for pkg in fonts-wqy-microhei zbar-tools apksigner apkverifier zipalign aapt zip unzip strace; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "missing Debian packages ${missing[*]} and no apt-get to install them"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || fail "could not install ${missing[*]}"
fi
need zbarimg "install Debian zbar-tools"
need apksigner "install Debian apksigner"
need apkverifier "install Debian apkverifier"
need zipalign "install Debian zipalign"
need aapt2 "install Debian aapt (it carries aapt2)"
need zip "install Debian zip"
need unzip "install Debian unzip"
need strace "install Debian strace (smartpos bench counts a sale's fsyncs with it)"
need javac "install a JDK 17 (javac compiles the apksig reference harness)"
[ -f /usr/share/java/apksig.jar ] || fail "apksig.jar missing: install Debian apksigner"
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || fail "CJK font missing: install Debian fonts-wqy-microhei"

step "python oracles (.cache/venv)"
if [ ! -x "$CACHE/venv/bin/python" ]; then
  python3 -m venv "$CACHE/venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
"$CACHE/venv/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt \
  || fail "could not install the Python peers from PyPI"
"$CACHE/venv/bin/python" -c "import iso8583, psec, pyemv" || fail "Python peers did not import"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "crate layering (smartpos-core stays pure; merchant apps link only the handoff protocol)"
impure=$(cargo tree -p smartpos-core -e normal --prefix none 2>/dev/null \
  | grep -E '^(tokio|reqwest|rusqlite|hyper|axum|fontdue|png|qrcode|rustls) ' | sort -u || true)
if [ -n "$impure" ]; then
  echo "$impure" >&2
  fail "smartpos-core depends on an I/O or rendering crate (above); it must stay pure"
fi
echo "smartpos-core: $(cargo tree -p smartpos-core -e normal --prefix none | sort -u | wc -l) crates, none of tokio/reqwest/rusqlite/hyper/axum/fontdue/png/qrcode/rustls"
if cargo tree -p smartpos-merchant-ffi -e normal --prefix none | grep -qE '^smartpos-(core|hal|terminal|apk|testing) '; then
  fail "smartpos-merchant-ffi links more than smartpos-handoff: a merchant app must not carry the acquiring core"
fi
echo "smartpos-merchant-ffi: links smartpos-handoff and no other smartpos crate"

step "cargo test"
cargo test --workspace

step "Kotlin bindings, sample vendor driver and sample merchant app on the JVM"
cargo build --quiet -p smartpos-merchant-ffi -p smartpos-terminal-ffi -p smartpos-cli
GEN="$ROOT/target/uniffi-kotlin"
rm -rf "$GEN" && mkdir -p "$GEN/merchant" "$GEN/terminal"
for lib in merchant terminal; do
  cargo run --quiet -p uniffi-bindgen -- generate --no-format \
    --library "$ROOT/target/debug/libsmartpos_${lib}_ffi.so" --language kotlin --out-dir "$GEN/$lib"
done
for project in tests/kotlin sample-apps/merchant-app; do
  (cd "$project" && mvn -B --no-transfer-progress test -Duniffi.generated="$GEN/merchant" -Dnative.lib.dir="$ROOT/target/debug" \
    -Dsmartpos.bin="$ROOT/target/debug/smartpos")
done
# The vendor's one command (sdk-docs: Quickstart, terminal vendor) on the sample driver set.
scripts/vendor-kit.sh sample-apps/vendor-driver

step "Android: merchant SDK, acquiring app, launcher and sample shop (Robolectric, real core); APKs built, market-signed, verified"
# The terminal library with crash injection (the Android suite kills a terminal process at a
# named step); built here because the vendor kit above rebuilds the library without it.
cargo build --quiet -p smartpos-terminal-ffi --features smartpos-terminal-ffi/crash-injection
ANDROID_PROPS=(-Duniffi.generated="$GEN" -Dnative.lib.dir="$ROOT/target/debug" -Dsmartpos.bin="$ROOT/target/debug/smartpos" -Dapks.dir="$ROOT/target/apks")
(cd android && mvn -B -q --no-transfer-progress install -DskipTests "${ANDROID_PROPS[@]}") || fail "the Android modules did not build (above)"
APKS_DIR="$ROOT/target/apks" SMARTPOS_BIN="$ROOT/target/debug/smartpos" scripts/build-apks.sh 2>&1 | grep -v "Unknown chunk type"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "scripts/build-apks.sh failed (above)"
(cd android && mvn -B --no-transfer-progress surefire:test -pl merchant-sdk,acquirer-app,merchant-app "${ANDROID_PROPS[@]}") || fail "the Android suites failed (above)"

step "what a merchant app links (smartpos-merchant-ffi: crates and stripped size within budget)"
scripts/merchant-ffi-budget.sh

step "peer cross-checks (pytest)"
SMARTPOS_BIN="$ROOT/target/debug/smartpos" "$CACHE/venv/bin/python" -m pytest -q -p no:cacheprovider \
  -W ignore::DeprecationWarning tests/python

step "docs site (mdBook build, link check)"
if [ ! -x "$CACHE/mdbook/bin/mdbook" ]; then
  cargo install mdbook --version 0.5.4 --locked --quiet --root "$CACHE/mdbook" || fail "could not install mdbook from crates.io"
fi
"$CACHE/mdbook/bin/mdbook" build sdk-docs -d "$CACHE/book" >"$CACHE/mdbook.log" 2>&1 \
  || { cat "$CACHE/mdbook.log" >&2; fail "mdbook build failed"; }
if grep -E "WARN|ERROR" "$CACHE/mdbook.log" >&2; then fail "mdbook warned (above)"; fi
# API references into the site: rustdoc (warnings fail) and Dokka for the Kotlin API.
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p smartpos-handoff -p smartpos-core -p smartpos-hal -p smartpos-apk \
  -p smartpos-terminal -p smartpos-testing -p smartpos-merchant-ffi -p smartpos-terminal-ffi -p smartpos-cli \
  || fail "rustdoc failed (above)"
rm -rf "$CACHE/book/api" && mkdir -p "$CACHE/book/api"
cp -r target/doc "$CACHE/book/api/rust"
(cd tests/kotlin && mvn -B -q --no-transfer-progress dokka:dokka -Duniffi.generated="$GEN") \
  || fail "Dokka (Kotlin API reference) failed (above)"
cp -r tests/kotlin/target/dokka "$CACHE/book/api/kotlin"
python3 scripts/check_doc_links.py --book "$CACHE/book" || fail "broken links in sdk-docs (above)"
echo "site built in .cache/book (API references under api/)"

step "fuzzers (bounded; every corpus file was already replayed on stable by cargo test)"
FUZZ_TARGETS="handoff_request iso8583_frame result_link apk_zip signing_block binary_manifest"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  if [ ! -x "$CACHE/cargo-fuzz/bin/cargo-fuzz" ]; then
    cargo install cargo-fuzz --locked --quiet --root "$CACHE/cargo-fuzz" || fail "could not install cargo-fuzz"
  fi
  FUZZ_SECONDS=${FUZZ_SECONDS:-10}
  # The sanitizer build needs a few GiB; the workspace's own debug build is no longer needed
  # by any later step, so it goes first when the disk is short.
  free_kib=$(df -Pk "$ROOT" | awk 'NR==2 {print $4}')
  if [ "${free_kib:-0}" -lt $((6 * 1024 * 1024)) ]; then
    echo "less than 6 GiB free: removing target/debug before the sanitizer build"
    rm -rf target/debug
  fi
  (cd fuzz && PATH="$CACHE/cargo-fuzz/bin:$PATH" cargo +nightly fuzz build >"$CACHE/fuzz-build.log" 2>&1) \
    || { tail -40 "$CACHE/fuzz-build.log" >&2; df -h "$ROOT" >&2; fail "the fuzz targets did not build (above; not a crash)"; }
  for t in $FUZZ_TARGETS; do
    found="$CACHE/fuzz-found/$t"
    mkdir -p "$found"
    # New inputs go to .cache (the first directory); the committed corpus is read only.
    if ! (cd fuzz && PATH="$CACHE/cargo-fuzz/bin:$PATH" cargo +nightly fuzz run "$t" "$found" "corpus/$t" \
      -- -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 >"$CACHE/fuzz-$t.log" 2>&1); then
      tail -40 "$CACHE/fuzz-$t.log" >&2
      if ls fuzz/artifacts/"$t"/* >/dev/null 2>&1; then
        fail "fuzz target $t found a crash (artifact in fuzz/artifacts/$t)"
      fi
      fail "fuzz target $t did not run (above; no crash artifact was written)"
    fi
    echo "fuzz $t: ${FUZZ_SECONDS}s, no crash ($(ls "$found" | wc -l) new inputs kept in .cache)"
  done
else
  echo "test.sh: no nightly toolchain: the fuzzers themselves did not run (rustup toolchain install nightly);"
  echo "         the corpus replay in cargo test did run every corpus file through every target."
fi

step "all test suites passed"
