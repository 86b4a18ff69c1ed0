#!/bin/sh
# Checks the native kernel sets against naive double-precision loops
# (src/tensor/native/test/check_kernel_sets.cc): on arm64 by cross-compiling the kernels with the
# harness and running it under qemu, and first natively when this machine is x86-64 (AVX-512 and
# AVX2, each with and without VNNI, and generic, as far as the CPU runs them). Exits non-zero on
# any failure.
# Needs aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: g++-aarch64-linux-gnu, qemu-user).
#   sh scripts/check-arm64.sh
set -eu

native="$(cd "$(dirname "$0")/../src/tensor/native" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The flags binding.gyp compiles the addon with.
flags="-O3 -std=c++17 -fno-trapping-math -fopenmp-simd -pthread"
common="gemm.cc gemm_int8.cc int8_generic.cc kernel_set.cc pool.cc set_generic.cc test/check_kernel_sets.cc"

# build COMPILER OUTPUT [SOURCE:EXTRA_FLAGS ...]: compiles the common sources and each extra one
# with its own flags (the x86 sets need theirs in their own translation units), then links.
build() {
  compiler=$1
  output=$2
  shift 2
  objects=""
  for source in $common "$@"; do
    file=${source%%:*}
    extra=""
    [ "$file" != "$source" ] && extra=${source#*:}
    object="$work/$(basename "$file" .cc).o"
    # shellcheck disable=SC2086
    "$compiler" $flags $extra -c "$native/$file" -o "$object"
    objects="$objects $object"
  done
  # shellcheck disable=SC2086
  "$compiler" $flags $objects -o "$output"
}

if [ "$(uname -m)" = "x86_64" ]; then
  echo "x86-64 (native):"
  build g++ "$work/check-x64" "set_avx2.cc:-mavx2 -mfma" "int8_avx2.cc:-mavx2 -mfma" \
    "set_avx512.cc:-mavx512f -mavx2 -mfma" "int8_avx_vnni.cc:-mavx2 -mfma -mavxvnni" \
    "int8_avx512_vnni.cc:-mavx512f -mavx512bw -mavx512vl -mavx512vnni"
  "$work/check-x64"
  rm -f "$work"/*.o
fi

echo "arm64 (qemu-aarch64):"
build aarch64-linux-gnu-g++ "$work/check-arm64" set_neon.cc "int8_neon.cc:-march=armv8.2-a+dotprod"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/check-arm64"
echo "arm64 without the dot-product extension (qemu-aarch64 -cpu cortex-a57): no neon-dotprod set:"
qemu-aarch64 -cpu cortex-a57 -L /usr/aarch64-linux-gnu "$work/check-arm64"
