#include "core/peak.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace hnas {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#if defined(__x86_64__) || defined(_M_X64)
// 16 independent accumulator chains, each a named variable so it lives in a
// register (4-cycle FMA latency × 2 ports needs at least 8 in flight). The
// empty asm statements keep the compiler from folding or vectorising away
// the dependency chains.
#define HNAS_FMA16(FMA)                                                              \
  a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);     \
  a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);     \
  a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c); \
  a12 = FMA(a12, m, c); a13 = FMA(a13, m, c); a14 = FMA(a14, m, c); a15 = FMA(a15, m, c);
#define HNAS_FMA_LOOP(VEC, SET1, FMA, ADD)                                              \
  VEC a0 = SET1(0.1), a1 = SET1(0.2), a2 = SET1(0.3), a3 = SET1(0.4), a4 = SET1(0.5),  \
      a5 = SET1(0.6), a6 = SET1(0.7), a7 = SET1(0.8), a8 = SET1(0.9), a9 = SET1(1.0),  \
      a10 = SET1(1.1), a11 = SET1(1.2), a12 = SET1(1.3), a13 = SET1(1.4),              \
      a14 = SET1(1.5), a15 = SET1(1.6);                                                 \
  const VEC m = SET1(0.999999), c = SET1(1e-7);                                         \
  for (int64_t it = 0; it < iters; ++it) {                                              \
    HNAS_FMA16(FMA)                                                                     \
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),   \
                     "+x"(a6), "+x"(a7));                                               \
    __asm__ volatile("" : "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11), "+x"(a12),          \
                     "+x"(a13), "+x"(a14), "+x"(a15));                                  \
  }                                                                                     \
  VEC s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));            \
  s = ADD(s, ADD(ADD(ADD(a8, a9), ADD(a10, a11)), ADD(ADD(a12, a13), ADD(a14, a15))));  \
  alignas(64) double out[8] = {0};                                                      \
  std::memcpy(out, &s, sizeof(double));                                                 \
  return out[0];

__attribute__((target("avx512f"))) double loop_avx512_ps(int64_t iters) {
  HNAS_FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps)
}
__attribute__((target("avx512f"))) double loop_avx512_pd(int64_t iters) {
  HNAS_FMA_LOOP(__m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd)
}
__attribute__((target("avx2,fma"))) double loop_avx2_ps(int64_t iters) {
  HNAS_FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps)
}
__attribute__((target("avx2,fma"))) double loop_avx2_pd(int64_t iters) {
  HNAS_FMA_LOOP(__m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd)
}
#undef HNAS_FMA16
#undef HNAS_FMA_LOOP
#endif

}  // namespace

double measure_fma_peak_gflops(int threads, double seconds, bool dp) {
  if (threads <= 0) threads = num_threads();
  double (*loop)(int64_t) = nullptr;
  double lanes = 0;
#if defined(__x86_64__) || defined(_M_X64)
  const CpuFeatures& f = cpu_features();
  if (f.avx512f) {
    loop = dp ? &loop_avx512_pd : &loop_avx512_ps;
    lanes = dp ? 8 : 16;
  } else if (f.avx2 && f.fma) {
    loop = dp ? &loop_avx2_pd : &loop_avx2_ps;
    lanes = dp ? 4 : 8;
  }
#endif
  if (!loop) return 0.0;
  const double flops_per_iter = 16 * lanes * 2;
  const int64_t iters = 200000;
  double best = 0;
  volatile double sink = 0;
  const double t_end = now_s() + seconds;
  for (int rep = 0; rep < 10000 && (rep < 10 || now_s() < t_end); ++rep) {
    const double t0 = now_s();
    // One burst per thread; the pool runs them concurrently.
    parallel_for(threads, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) sink = sink + loop(iters);
    });
    const double dt = now_s() - t0;
    best = std::max(best, threads * iters * flops_per_iter / dt / 1e9);
  }
  return best;
}

}  // namespace hnas
