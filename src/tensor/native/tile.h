// Turns a micro-kernel templated on its row count into a MicroKernel that handles any row count
// up to MR, so edge tiles of fewer rows do only the work they need.

#pragma once

#include <utility>

#include "kernel_set.h"

namespace {

// Calls Tile<rows>::run(args...), through a table of one instantiation per row count.
template <template <int> class Tile, typename... Args, int... Rows>
void dispatch_rows(std::integer_sequence<int, Rows...>, int rows, Args... args) {
  using Fn = void (*)(Args...);
  static constexpr Fn table[] = {&Tile<Rows + 1>::run...};
  table[rows - 1](args...);
}

template <template <int> class Tile, int MR>
void tile_any_rows(int rows, int cols, long k, const float* ap, const float* bp, float* c,
                   long ldc, bool load, const float* bias) {
  dispatch_rows<Tile>(std::make_integer_sequence<int, MR>(), rows, cols, k, ap, bp, c, ldc, load,
                      bias);
}

// The same for a MicroKernelInPlace.
template <template <int> class Tile, int MR>
void tile_any_rows_in_place(int rows, int cols, long k, const float* a, long lda,
                            const float* bp, float* c, long ldc, bool load, const float* bias) {
  dispatch_rows<Tile>(std::make_integer_sequence<int, MR>(), rows, cols, k, a, lda, bp, c, ldc,
                      load, bias);
}

}  // namespace
