// Portable GEMM micro-kernels in plain C++: the fallback for CPUs without
// AVX2 and for non-x86 builds. Compiled with the base flags; the fixed-size
// inner loops are written so that -O3 vectorises them for whatever baseline
// the target has (SSE2 on x86-64, NEON on AArch64).
//
// Micro-tiles: float 4 x 8, double 4 x 4 -- 32 and 16 accumulators, i.e.
// eight 128-bit registers, leaving room for the B row and a broadcast.
#define HNAS_GEMM_KERNEL_TU
#include "gemm_internal.h"

namespace hnas {
namespace gemm_detail {
namespace {

template <typename T, int MR, int NR>
struct UkernelGeneric {
  static constexpr int kMR = MR;
  static constexpr int kNR = NR;
  static constexpr int kVecLen = NR;  // one "vector" spans the tile
  static constexpr int kVecs = 1;
  template <int NV>
  static void run(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc,
                  T alpha, T beta, PrefetchCursor& prefetch) {
    PrefetchCursor pf = prefetch;
    T acc[MR][NR] = {};
    for (int64_t k = 0; k < kc; ++k) {
      pf.step();
      for (int i = 0; i < MR; ++i) {
        const T ai = a[i];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
      }
      a += MR;
      b += ldb;
    }
    prefetch = pf;
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
      if (beta == T(0)) {
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
      } else if (beta == T(1)) {
        for (int j = 0; j < NR; ++j) ci[j] += alpha * acc[i][j];
      } else {
        for (int j = 0; j < NR; ++j) ci[j] = beta * ci[j] + alpha * acc[i][j];
      }
    }
  }
};

constexpr KernelFamily kPortableFamily{
    "portable",
    make_ops<float, UkernelGeneric<float, 4, 8>>(256),
    make_ops<double, UkernelGeneric<double, 4, 4>>(256),
};

}  // namespace

const KernelFamily& portable_family() { return kPortableFamily; }

}  // namespace gemm_detail
}  // namespace hnas
