#!/usr/bin/env bash
# Consumer test: install into a temporary prefix, then build examples out of
# tree with pkg-config (medshim, medshim-sim) and with find_package(medshim
# CONFIG) (shared without pkg-config, static as a component), load the
# simulator with ctypes, run the installed tools without LD_LIBRARY_PATH,
# compile the public headers as C99, C11 and C++, and check the exported
# symbols.
# usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
# The build's compiler and target flags (ctest passes them; -m32 on i386).
read -ra target_flags <<<"${MEDSHIM_TARGET_FLAGS:-}"
cc=("${CC:-cc}" "${target_flags[@]}")
cxx=("${CXX:-c++}" "${target_flags[@]}")
toolchain=()
[ -n "${MEDSHIM_TOOLCHAIN_FILE:-}" ] && toolchain=(-DCMAKE_TOOLCHAIN_FILE="$MEDSHIM_TOOLCHAIN_FILE")

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libmedshim.so | head -n 1)")
export PKG_CONFIG_PATH="$libdir/pkgconfig"

echo "-- pkg-config: $(pkg-config --cflags --libs medshim)"
"${cc[@]}" -std=c11 -Wall -Wextra -Werror "$src/examples/outpatient_flow.c" \
  $(pkg-config --cflags --libs medshim) -Wl,-rpath,"$libdir" -o "$work/outpatient_flow"
echo "-- installed tools without LD_LIBRARY_PATH (relative RUNPATH)"
for tool in medshim medshim-sim; do
  runpath=$(readelf -d "$prefix/bin/$tool" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  case "$runpath" in
  '$ORIGIN/'*) ;;
  *)
    echo "$tool: RUNPATH '$runpath', not relative to \$ORIGIN" >&2
    exit 1
    ;;
  esac
  env -u LD_LIBRARY_PATH "$prefix/bin/$tool" --help >/dev/null
done
"$prefix/bin/medshim" keygen "$work/key"
"$work/outpatient_flow" "$src/examples/schedules/hangzhou-2022.json" "$work/journal" "$work/key" \
  | grep "collect 238.50 yuan in full" >/dev/null
"$prefix/bin/medshim" list --journal "$work/journal" --key "$work/key" | grep MZ20220211-0042 >/dev/null

# No pkg-config and no OpenSSL package to find: what a shared consumer may
# lack, since the shared libraries keep their dependencies to themselves.
echo "-- find_package(medshim CONFIG): shared, without pkg-config, jansson.pc or OpenSSL's CMake files"
mkdir -p "$work/cm"
cat > "$work/cm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(medshim 0.1 CONFIG REQUIRED)
add_executable(inpatient_ward "$src/examples/inpatient_ward.c")
target_link_libraries(inpatient_ward PRIVATE medshim::medshim)
add_executable(replay_adapter "$src/examples/replay_adapter.c")
target_link_libraries(replay_adapter PRIVATE medshim::sim)
CMAKE
cmake -S "$work/cm" -B "$work/cmb" "${toolchain[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DPKG_CONFIG_EXECUTABLE=/nonexistent -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON \
  -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/cmb" >/dev/null
"$work/cmb/inpatient_ward" "$src/examples/schedules/hangzhou-2022.json" | grep settle_before >/dev/null
"$work/cmb/replay_adapter" "$work/journal" "$work/key" "$work/ledger" \
  | grep "settled 1, in doubt 0, double-settlement attempts 0" >/dev/null
# medshim::sim is the shared simulator on the shared libmedshim: no copy of
# the static library in the program beside libmedshim.so.0.
readelf -d "$work/cmb/replay_adapter" | grep -q 'NEEDED.*\[libmedshim-sim\.so\.0\]'
readelf -d "$work/cmb/replay_adapter" | grep -q 'NEEDED.*\[libmedshim\.so\.0\]'
if nm --defined-only "$work/cmb/replay_adapter" | grep -E ' [TtDdBbRr] medshim_' >&2; then
  echo "replay_adapter (medshim::sim) has libmedshim's code linked in beside the shared library" >&2
  exit 1
fi

echo "-- find_package(medshim CONFIG COMPONENTS static)"
mkdir -p "$work/cms"
cat > "$work/cms/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(consumer_static C)
find_package(medshim 0.1 CONFIG REQUIRED COMPONENTS static)
add_executable(test_harness "$src/examples/test_harness.c")
target_link_libraries(test_harness PRIVATE medshim::sim_static)
CMAKE
cmake -S "$work/cms" -B "$work/cmsb" "${toolchain[@]}" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmsb" >/dev/null
if readelf -d "$work/cmsb/test_harness" | grep -q 'NEEDED.*libmedshim'; then
  echo "test_harness (medshim::sim_static) needs a shared libmedshim" >&2
  exit 1
fi
mkdir -p "$work/harness-static"
"$work/cmsb/test_harness" "$work/harness-static" >/dev/null

echo "-- more examples against the installation"
"${cc[@]}" -std=c11 -Wall -Wextra -Werror "$src/examples/pharmacy_pos.c" \
  $(pkg-config --cflags --libs medshim) -Wl,-rpath,"$libdir" -o "$work/pharmacy_pos"
"$work/pharmacy_pos" "$src/examples/schedules/hangzhou-2022.json" "$work/pos" | grep "receipt printed" >/dev/null
echo "-- pkg-config: $(pkg-config --cflags --libs medshim-sim)"
"${cc[@]}" -std=c11 -Wall -Wextra -Werror "$src/examples/test_harness.c" \
  $(pkg-config --cflags --libs medshim-sim) -Wl,-rpath,"$libdir" -o "$work/test_harness"
mkdir -p "$work/harness"
"$work/test_harness" "$work/harness"
# The ELF class of the library (1: 32-bit, 2: 64-bit) against the
# interpreter's pointer size: a 64-bit python3 cannot load an i386 library.
lib_bits=$(( $(od -An -tu1 -j4 -N1 "$libdir/libmedshim.so") * 32 ))
py_bits=$(python3 -c 'import struct; print(struct.calcsize("P") * 8)' 2>/dev/null || echo 0)
if [ "$py_bits" != "$lib_bits" ]; then
  echo "-- python harness skipped: no ${lib_bits}-bit python3 to load the ${lib_bits}-bit library"
elif command -v python3 >/dev/null; then
  env -u LD_LIBRARY_PATH python3 "$src/tests/consumer/sim_ctypes.py" "$libdir"
  mkdir -p "$work/py"
  python3 "$src/examples/python/harness.py" "$libdir/libmedshim.so" \
    "$src/examples/schedules/hangzhou-2022.json" "$work/py" | grep "deferred: stored" >/dev/null
fi

echo "-- headers as C99, C11 and C++"
printf '#include <medshim/medshim.h>\n#include <medshim/sim.h>\nint main(void) { medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT; (void)f; return medshim_version() == 0; }\n' > "$work/h.c"
for std in c99 c11; do
  "${cc[@]}" -std=$std -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$work/h.c" -o "$work/h-$std.o"
done
cp "$work/h.c" "$work/h.cpp"
"${cxx[@]}" -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c "$work/h.cpp" -o "$work/h-cxx.o"

echo "-- exported symbols"
nm -D --defined-only "$libdir/libmedshim.so" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort > "$work/symbols"
diff -u "$src/tests/exported-symbols.txt" "$work/symbols"
if grep -v '^medshim_' "$work/symbols"; then
  echo "symbols without the medshim_ prefix are exported" >&2
  exit 1
fi
if nm -D --defined-only "$libdir/libmedshim-sim.so" | awk '$2 ~ /^[TDBRV]$/ {print $3}' |
   grep -v '^medshim_sim_'; then
  echo "libmedshim-sim.so exports symbols without the medshim_sim_ prefix" >&2
  exit 1
fi
echo "consumer: 1 passed, 0 failed"
