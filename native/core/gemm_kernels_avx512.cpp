// AVX-512 GEMM micro-kernels (avx512f/bw/dq/vl + FMA).
//
// The base of the addon is compiled without -march, so this translation unit
// enables the instructions itself with a target pragma; gemm.cpp only calls
// in here after cpu_features() has confirmed the CPU and OS support them.
//
// Micro-tiles (row-major C, vectors run along N):
//   float : 8 x 48  (8 rows x 3 zmm)  -> 24 accumulators
//   double: 8 x 24  (8 rows x 3 zmm)  -> 24 accumulators
// Per k step: 3 vector loads of B, 8 broadcasts of A, 24 FMAs. 24 independent
// accumulators cover the FMA latency x throughput product (4 cycles x 2
// pipes) three times over, and 24 + 3 + 1 registers fit in the 32 zmm
// registers. MR = 8 divides the channel counts (16, 32, 64) of the im2col
// products exactly, so the common conv shapes have no M edge tiles.
#include "gemm_internal.h"

#if HNAS_GEMM_HAVE_X86

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,avx,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,avx,fma")
#endif

#define HNAS_GEMM_KERNEL_TU
#define HNAS_GEMM_X86_SIMD
#include "gemm_internal.h"

namespace hnas {
namespace gemm_detail {
namespace {

struct Zmm32 {
  using V = __m512;
  static constexpr int kLen = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V load_first(const float* p, int count) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
  }
  // Lane sum with 512-bit operations only (GCC 12's 512->256 casts warn
  // about an uninitialized variable inside its own header).
  static float reduce(V v) {
    v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, 0x4E));
    v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, 0xB1));
    v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, 0xFFFF, v, 0x4E));
    v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, 0xFFFF, v, 0xB1));
    return _mm512_cvtss_f32(v);
  }
};

struct Zmm64 {
  using V = __m512d;
  static constexpr int kLen = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V load_first(const double* p, int count) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1), p);
  }
  static double reduce(V v) {
    v = _mm512_add_pd(v, _mm512_mask_shuffle_f64x2(v, 0xFF, v, v, 0x4E));
    v = _mm512_add_pd(v, _mm512_mask_shuffle_f64x2(v, 0xFF, v, v, 0xB1));
    v = _mm512_add_pd(v, _mm512_mask_permute_pd(v, 0xFF, v, 0x55));
    return _mm512_cvtsd_f64(v);
  }
};

// kc: the A micro-panel (8 x kc, 16 KiB) stays in the 48 KiB L1 while B
// streams from L2; longer blocks also mean fewer passes over C.
// Dot kernel tile 4 x 6: 24 accumulators + 6 B vectors + 1 A vector = 31
// registers; 10 loads per 24 FMAs.
constexpr KernelFamily kAvx512Family{
    "avx512",
    make_ops<float, UkernelSimd<float, Zmm32, 8, 3>>(512, &DotNt<float, Zmm32, 4, 6>::gemm),
    make_ops<double, UkernelSimd<double, Zmm64, 8, 3>>(256, &DotNt<double, Zmm64, 4, 6>::gemm),
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
// Defined outside the target region: it is plain code that returns a table.
const KernelFamily& avx512_family() { return kAvx512Family; }
}  // namespace gemm_detail
}  // namespace hnas

#endif  // HNAS_GEMM_HAVE_X86
