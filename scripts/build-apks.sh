#!/usr/bin/env bash
# Builds the three APKs without Gradle, signs each as its developer would and then with our own
# market, and checks each with three verifiers:
#   acquirer.apk  org.smartpos.acquirer  the acquiring app (payment activity; sample vendor drivers)
#   launcher.apk  org.smartpos.launcher  the terminal's home screen and market installer
#   merchant.apk  com.example.shop       the sample merchant app (merchant SDK)
# Steps per APK: aapt2 link (manifest, resources) -> D8 (classes, Kotlin stdlib, JNA) -> zip the
# dex and native libraries in -> zipalign -> apksigner sign (developer key) -> smartpos market sign
# -> smartpos apk verify, apksigner verify, smartpos market verify; aapt2 dump shows what Android
# will read (package, activities, intent filters). Debian's aapt2 predates <queries> (API 30):
# --warn-manifest-validation keeps it (the element is copied as written).
#
# Native code: with an NDK (ANDROID_NDK_HOME) the core's libraries are built for arm64-v8a and
# x86_64 with cargo-ndk and added under lib/<abi>/. Without one they cannot be built here: the
# APKs then carry assets/smartpos-native.txt saying so, and this script says so too. They install
# and verify, but a payment needs the libraries.
#
# Also writes fixtures/ for the Android tests: the market keys, the developer certificate, an
# APK signed by its developer only, a tampered one, another shop, and a revoked one with its
# revocation list.
#
# Usage: scripts/build-apks.sh   (after `mvn install` in android/; env: SMARTPOS_BIN, APKS_DIR)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="${APKS_DIR:-$ROOT/target/apks}"
SMARTPOS="${SMARTPOS_BIN:-$ROOT/target/debug/smartpos}"
# The local Maven repository (settings.xml may move it); Maven 3.8 colours even -B output.
M2="${M2_REPO:-$(mvn -B -q help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null \
  | sed 's/\x1b\[[0-9;]*m//g' || true)}"
[ -d "$M2" ] || M2="$HOME/.m2/repository"
fail() { echo "build-apks.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "required tool '$1' is missing: $2"; }
need aapt2 "install Debian aapt (it carries aapt2)"
need zipalign "install Debian zipalign"
need apksigner "install Debian apksigner"
need keytool "install a JDK 17"
need zip "install Debian zip"
need unzip "install Debian unzip"
[ -x "$SMARTPOS" ] || fail "the smartpos command is not at $SMARTPOS (cargo build -p smartpos-cli)"

ANDROID_JAR="$M2/org/robolectric/android-all/14-robolectric-10818077/android-all-14-robolectric-10818077.jar"
R8="$M2/com/android/tools/r8/8.5.35/r8-8.5.35.jar"
STDLIB="$M2/org/jetbrains/kotlin/kotlin-stdlib/2.1.20/kotlin-stdlib-2.1.20.jar"
JNA_AAR="$M2/net/java/dev/jna/jna/5.16.0/jna-5.16.0.aar"
BCPROV="$M2/org/bouncycastle/bcprov-jdk18on/1.80/bcprov-jdk18on-1.80.jar"
fetch() { # group:artifact:version[:type] into the local repository
  mvn -B -q --no-transfer-progress dependency:get -Dartifact="$1" >/dev/null || fail "could not fetch $1 from Maven Central"
}
[ -f "$R8" ] || fetch com.android.tools:r8:8.5.35
[ -f "$JNA_AAR" ] || fetch net.java.dev.jna:jna:5.16.0:aar
for f in "$ANDROID_JAR" "$STDLIB" "$BCPROV"; do
  [ -f "$f" ] || fail "$f is missing: run 'mvn install' in android/ first"
done
ACQUIRER_JAR="$ROOT/android/acquirer-app/target/acquirer-app-0.1.0.jar"
SDK_JAR="$ROOT/android/merchant-sdk/target/merchant-sdk-0.1.0.jar"
SHOP_JAR="$ROOT/android/merchant-app/target/merchant-app-0.1.0.jar"
for f in "$ACQUIRER_JAR" "$SDK_JAR" "$SHOP_JAR"; do
  [ -f "$f" ] || fail "$f is missing: run 'mvn install' in android/ first"
done

rm -rf "$OUT" && mkdir -p "$OUT/work" "$OUT/fixtures"
W="$OUT/work"

# JNA for Android: its classes and libjnidispatch.so per ABI, from the @aar.
unzip -q -o "$JNA_AAR" classes.jar 'jni/*' -d "$W/jna"

# Native libraries of the core, when an NDK is present.
NATIVE="$W/native"
mkdir -p "$NATIVE/assets"
ABIS="arm64-v8a x86_64"
if [ -n "${ANDROID_NDK_HOME:-}" ]; then
  command -v cargo-ndk >/dev/null 2>&1 || cargo install cargo-ndk --locked --quiet || fail "could not install cargo-ndk"
  rustup target add aarch64-linux-android x86_64-linux-android >/dev/null
  (cd "$ROOT" && cargo ndk -t arm64-v8a -t x86_64 -o "$NATIVE/lib" build --release \
    -p smartpos-terminal-ffi -p smartpos-merchant-ffi) || fail "cargo ndk failed"
  NATIVE_STATE="present"
else
  echo "NO NATIVE CODE: ANDROID_NDK_HOME is not set, so the core's libraries cannot be built for Android here."
  echo "  The APKs are built and verified, and each carries assets/smartpos-native.txt saying the libraries are missing;"
  echo "  set ANDROID_NDK_HOME (cargo-ndk is installed on demand) for APKs that can take a payment."
  printf 'missing: built without ANDROID_NDK_HOME; libsmartpos_*_ffi.so are not in this APK\n' > "$NATIVE/assets/smartpos-native.txt"
  NATIVE_STATE="missing"
fi

# Dex: one for the terminal side (acquirer and launcher share classes), one for the shop.
dex() { # out-dir jars...
  local out=$1; shift
  mkdir -p "$out"
  java -cp "$R8" com.android.tools.r8.D8 --release --min-api 24 --lib "$ANDROID_JAR" --output "$out" "$@" \
    >"$out.log" 2>&1 || { cat "$out.log" >&2; fail "D8 failed"; }
}
dex "$W/dex-terminal" "$ACQUIRER_JAR" "$STDLIB" "$W/jna/classes.jar" "$BCPROV"
dex "$W/dex-shop" "$SHOP_JAR" "$SDK_JAR" "$STDLIB" "$W/jna/classes.jar"

# The developer's signing key (a fresh test key each build) and its certificate.
keytool -genkeypair -keystore "$W/dev.jks" -storepass android -keypass android -alias dev \
  -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA -validity 3650 \
  -dname "CN=smartpos sample developer" >/dev/null 2>&1 || fail "keytool could not make the developer key"
keytool -exportcert -keystore "$W/dev.jks" -storepass android -alias dev -file "$OUT/fixtures/developer-cert.der" >/dev/null 2>&1

# The market's keys (root and market-1), fresh each build.
"$SMARTPOS" market keygen --keys "$OUT/market" >/dev/null || fail "smartpos market keygen failed"

# apk NAME MANIFEST DEX LIBS(ABI list or "") [aapt2 link options...]: developer-signed $W/NAME.dev.apk
apk() {
  local name=$1 manifest=$2 dexdir=$3; shift 3
  local res=()
  local resdir; resdir="$(dirname "$manifest")/res"
  if [ -d "$resdir" ]; then
    aapt2 compile --dir "$resdir" -o "$W/$name-res.zip" 2>"$W/$name-aapt2.log" || { cat "$W/$name-aapt2.log" >&2; fail "aapt2 compile failed for $name"; }
    res=("$W/$name-res.zip")
  fi
  aapt2 link -o "$W/$name.base.apk" --manifest "$manifest" -I "$ANDROID_JAR" --warn-manifest-validation -A "$NATIVE/assets" "$@" "${res[@]}" \
    2>"$W/$name-link.log" || { cat "$W/$name-link.log" >&2; fail "aapt2 link failed for $name"; }
  mkdir -p "$W/$name.content"
  cp "$dexdir"/classes*.dex "$W/$name.content/"
  for abi in $ABIS; do
    mkdir -p "$W/$name.content/lib/$abi"
    cp "$W/jna/jni/$abi/libjnidispatch.so" "$W/$name.content/lib/$abi/"
    if [ "$NATIVE_STATE" = present ]; then cp "$NATIVE/lib/$abi"/libsmartpos_*.so "$W/$name.content/lib/$abi/"; fi
  done
  (cd "$W/$name.content" && zip -q -X -r "$W/$name.base.apk" .)
  zipalign -p -f 4 "$W/$name.base.apk" "$W/$name.aligned.apk"
  apksigner sign --ks "$W/dev.jks" --ks-pass pass:android --key-pass pass:android --ks-key-alias dev \
    --min-sdk-version 24 --out "$W/$name.dev.apk" "$W/$name.aligned.apk" || fail "apksigner sign failed for $name"
}

# market_sign NAME OUT PAYMENTS DEVICES
market_sign() {
  "$SMARTPOS" market sign "$W/$1.dev.apk" --out "$2" --keys "$OUT/market" --payments "$3" --devices "$4" --sdk 24 >/dev/null \
    || fail "smartpos market sign refused $1"
}

# check APK PACKAGE EXPECTED-MANIFEST-STRINGS...: the three verifiers and what Android reads.
check() {
  local file=$1 package=$2; shift 2
  "$SMARTPOS" apk verify "$file" >/dev/null || fail "smartpos apk verify refused $file"
  apksigner verify --min-sdk-version 24 "$file" || fail "apksigner verify refused $file"
  "$SMARTPOS" market verify "$file" --root "$OUT/market/root.pub" --sdk 34 >/dev/null || fail "smartpos market verify refused $file"
  aapt2 dump badging "$file" 2>/dev/null | grep -q "^package: name='$package'" || fail "$file: aapt2 badging does not show package $package"
  local tree; tree=$(aapt2 dump xmltree --file AndroidManifest.xml "$file" 2>/dev/null)
  for want in "$@"; do
    grep -q "$want" <<<"$tree" || fail "$file: the manifest does not carry $want"
  done
  echo "$(basename "$file"): $package, $(stat -c %s "$file") bytes; smartpos apk verify, apksigner verify, market verify: accepted"
}

apk acquirer "$ROOT/android/acquirer-app/src/main/AndroidManifest.xml" "$W/dex-terminal"
apk launcher "$ROOT/android/acquirer-app/src/launcher/AndroidManifest.xml" "$W/dex-terminal"
apk merchant "$ROOT/android/merchant-app/src/main/AndroidManifest.xml" "$W/dex-shop"
market_sign acquirer "$OUT/acquirer.apk" "" ""
market_sign launcher "$OUT/launcher.apk" "" ""
market_sign merchant "$OUT/merchant.apk" "sale,void,refund,query,balance" "scanner"
check "$OUT/acquirer.apk" org.smartpos.acquirer "org.smartpos.acquirer.PaymentActivity" "org.smartpos.action.PAY" \
  'android.intent.action.VIEW' '"smartpos"' '"pay"' "org.smartpos.drivers"
check "$OUT/launcher.apk" org.smartpos.launcher "org.smartpos.acquirer.LauncherActivity" "android.intent.category.HOME"
check "$OUT/merchant.apk" com.example.shop "com.example.shop.CheckoutActivity" "org.smartpos.action.PAY"

# Fixtures for the launcher, installer and caller tests.
F="$OUT/fixtures"
cp "$W/merchant.dev.apk" "$F/developer-only.apk"
apk othershop "$ROOT/android/merchant-app/src/main/AndroidManifest.xml" "$W/dex-shop" --rename-manifest-package com.example.othershop
market_sign othershop "$F/othershop.apk" "sale,void,refund,query" ""
apk revoked "$ROOT/android/merchant-app/src/main/AndroidManifest.xml" "$W/dex-shop" --rename-manifest-package com.example.revoked
market_sign revoked "$F/revoked.apk" "sale,query" ""
"$SMARTPOS" market revoke --keys "$OUT/market" --serial 1 --app com.example.revoked:1 --out "$F/revocations.json" >/dev/null \
  || fail "smartpos market revoke failed"
# Tampered: one byte of the dex changed after the market signed (same size, same entry).
python3 - "$OUT/merchant.apk" "$F/tampered.apk" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
data = bytearray(open(src, "rb").read())
with zipfile.ZipFile(src) as z:
    info = z.getinfo("classes.dex")
    assert info.compress_type == zipfile.ZIP_STORED or True
    # the local header: 30 bytes + name + extra, then the entry's data
    off = info.header_offset
    name_len = int.from_bytes(data[off + 26:off + 28], "little")
    extra_len = int.from_bytes(data[off + 28:off + 30], "little")
    start = off + 30 + name_len + extra_len
data[start + 100] ^= 0xFF
open(dst, "wb").write(bytes(data))
PY
if "$SMARTPOS" market verify "$F/tampered.apk" --root "$OUT/market/root.pub" --sdk 34 >/dev/null 2>&1; then
  fail "the tampered fixture was accepted by the market check"
fi
if "$SMARTPOS" market verify "$F/developer-only.apk" --root "$OUT/market/root.pub" --sdk 34 >/dev/null 2>&1; then
  fail "the developer-only fixture was accepted by the market check"
fi
echo "$NATIVE_STATE" > "$OUT/native-code"
rm -rf "$W"
echo "APKs in $OUT (native code: $NATIVE_STATE); test fixtures in $F"
