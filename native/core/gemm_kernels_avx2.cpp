// AVX2 + FMA GEMM micro-kernels, for x86-64 CPUs without AVX-512.
//
// Enabled per translation unit with a target pragma (the addon base is built
// without -march); gemm.cpp calls in here only after cpu_features() has
// confirmed AVX2 and FMA.
//
// Micro-tiles (row-major C, vectors run along N):
//   float : 4 x 24  (4 rows x 3 ymm)  -> 12 accumulators
//   double: 4 x 12  (4 rows x 3 ymm)  -> 12 accumulators
// 12 accumulators + 3 B vectors + 1 broadcast = the 16 ymm registers; 12
// independent FMA chains cover latency x throughput (5 x 2 on Haswell-class
// cores). MR = 4 divides the usual channel counts, unlike the classic 6 x 16.
#include "gemm_internal.h"

#if HNAS_GEMM_HAVE_X86

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,avx,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,avx,fma")
#endif

#define HNAS_GEMM_KERNEL_TU
#define HNAS_GEMM_X86_SIMD
#include "gemm_internal.h"

namespace hnas {
namespace gemm_detail {
namespace {

struct Ymm32 {
  using V = __m256;
  static constexpr int kLen = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

struct Ymm64 {
  using V = __m256d;
  static constexpr int kLen = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};

// kc: the A micro-panel (4 x kc) stays in L1 while B streams from L2; at
// kc = 256 the per-block reload of the C tile costs under 1% of the FMAs.
constexpr KernelFamily kAvx2Family{
    "avx2",
    make_ops<float, UkernelSimd<float, Ymm32, 4, 3>>(256),
    make_ops<double, UkernelSimd<double, Ymm64, 4, 3>>(256),
};

}  // namespace
}  // namespace gemm_detail
}  // namespace hnas

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

namespace hnas {
namespace gemm_detail {
const KernelFamily& avx2_family() { return kAvx2Family; }
}  // namespace gemm_detail
}  // namespace hnas

#endif  // HNAS_GEMM_HAVE_X86
