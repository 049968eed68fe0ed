// Activations live in channel-major layout [C][N][H][W] ("CNHW"): every conv
// becomes one GEMM over the whole batch (W[Cout,K] · col[K, N·H·W]) with no
// transposes, and per-channel work (BN) reads contiguous memory. Gradients
// that carry B cotangent copies at once use [C][B·N][H][W], i.e. the batch
// dimension holds B·N planes. Rank-2 tensors (features) are [F][N] with
// H = W = 1. The boundary to JS converts from/to NCHW.
#pragma once
#include <cstdint>
#include <string>
#include <algorithm>
#include <vector>

#include "core/buffer_pool.h"
#include "core/error.h"

namespace hnas {

struct Shape4 {
  int64_t c = 0, n = 0, h = 1, w = 1;
  int64_t plane() const { return h * w; }
  int64_t numel() const { return c * n * h * w; }
  // Per-sample shape as text, e.g. "[16,32,32]" (batch omitted).
  std::string str() const {
    return "[" + std::to_string(c) + "," + std::to_string(h) + "," + std::to_string(w) + "]";
  }
};

template <typename S>
struct Tensor {
  Shape4 shape;
  PoolVector<S> data;

  Tensor() = default;
  explicit Tensor(const Shape4& s) { reset(s); }
  // zero = false leaves the contents undefined, for outputs that are written whole.
  void reset(const Shape4& s, bool zero = true) {
    shape = s;
    data.clear();
    data.resize(static_cast<size_t>(s.numel()));
    if (zero) std::fill(data.begin(), data.end(), S(0));
  }
  void release() {
    PoolVector<S>().swap(data);
  }
  bool empty() const { return data.empty(); }
  S* ptr() { return data.data(); }
  const S* ptr() const { return data.data(); }
};

// Rounds a 64-bit size to size_t, failing cleanly when a request is too big
// to allocate rather than crashing in std::vector.
inline size_t checked_size(int64_t n, const char* what) {
  HNAS_CHECK(n >= 0 && n < (int64_t(1) << 40), kOutOfMemory,
             std::string("allocation too large for ") + what);
  return static_cast<size_t>(n);
}

}  // namespace hnas
