#!/bin/sh
# What a packager gets: configuring with no options and without Check
# succeeds, says the suites are skipped, leaves -Werror off, and still has
# the docs target (which says how to install doxygen when it is missing).
# usage: configure_defaults.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the .pc files the library needs, and not check.pc
mkdir "$tmp/pc"
for m in jansson libcrypto openssl zlib; do
  pc=$(pkg-config --variable=pcfiledir "$m" 2>/dev/null || true)
  [ -n "$pc" ] && [ -f "$pc/$m.pc" ] && ln -s "$pc/$m.pc" "$tmp/pc/$m.pc"
done
# libcrypto.pc may name its siblings
for pc in $(pkg-config --variable=pcfiledir libcrypto); do
  for f in "$pc"/libssl.pc; do [ -f "$f" ] && ln -sf "$f" "$tmp/pc/"; done
done
PKG_CONFIG_LIBDIR="$tmp/pc" PKG_CONFIG_PATH="" \
  cmake -S "$src" -B "$tmp/build" -DMEDSHIM_BUILD_BENCH=OFF -DMEDSHIM_BUILD_EXAMPLES=OFF \
  > "$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "configure failed without Check" >&2; exit 1; }
grep -q "Check (the C unit test framework) was not found" "$tmp/out" ||
  { cat "$tmp/out" >&2; echo "no message about the skipped suites" >&2; exit 1; }
grep -q '^MEDSHIM_WERROR:BOOL=OFF$' "$tmp/build/CMakeCache.txt" ||
  { echo "MEDSHIM_WERROR is not off by default" >&2; exit 1; }
cmake --build "$tmp/build" --target help > "$tmp/targets"
grep -q '\.\.\. docs$' "$tmp/targets" ||
  { echo "no docs target" >&2; exit 1; }
echo "configure defaults: no Check, no -Werror, a docs target"
