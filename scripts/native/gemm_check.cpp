// Standalone correctness check and benchmark for hnas::gemm.
//
// Build (from the repository root):
//   g++ -O3 -std=c++17 -pthread -Inative/core scripts/native/gemm_check.cpp
//       native/core/thread_pool.cpp native/core/gemm*.cpp
//       native/core/cpu_features.cpp -o /tmp/gemm_check
// Run:
//   /tmp/gemm_check            correctness for every kernel family, then bench
//   /tmp/gemm_check --check    correctness only
//   /tmp/gemm_check --bench    benchmark only
//   --seconds S                timing budget per shape and configuration
//
// Correctness: every kernel family the CPU supports is forced in turn and
// compared with gemm_reference on fixed edge shapes and random shapes, all
// four trans combinations, row strides longer than the rows, several alpha
// and beta values (beta = 0 with a NaN-filled C), with 1 and 2 threads and
// from inside a parallel region. Padding between C rows must stay untouched.
// Exits non-zero on any mismatch.
//
// Benchmark: GFLOP/s of the conv-network shapes and 512^3 in fp32 and fp64 on
// 1 and 2 threads, as a percentage of the FMA peak measured in the same run by
// a register-resident FMA loop.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cpu_features.h"
#include "error.h"
#include "gemm.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace {

using hnas::Trans;

const char* trans_name(Trans ta, Trans tb) {
  if (ta == Trans::kNo) return tb == Trans::kNo ? "NN" : "NT";
  return tb == Trans::kNo ? "TN" : "TT";
}

// ---------------------------------------------------------------------------
// Correctness

struct Failure {
  int count = 0;
};

// Storage whose data() starts `offset` elements past a 64-byte boundary, so
// tests reach both the aligned-only paths and the general ones.
template <typename T>
class Buffer {
 public:
  Buffer(size_t n, size_t offset) : raw_(n + offset + 64 / sizeof(T)) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(raw_.data());
    const size_t skip = ((64 - p % 64) % 64) / sizeof(T);
    data_ = raw_.data() + skip + offset;
    size_ = n;
  }
  T* data() { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  std::vector<T> raw_;
  T* data_;
  size_t size_;
};

template <typename T>
struct Problem {
  Trans ta, tb;
  int64_t m, n, k;
  int64_t lda, ldb, ldc;
  T alpha, beta;
  size_t offset = 1;  // elements past a 64-byte boundary (0 = aligned)
};

template <typename T>
bool run_case(const Problem<T>& p, std::mt19937_64& rng, const std::string& tag,
              bool nested) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  const int64_t a_rows = p.ta == Trans::kNo ? p.m : p.k;
  const int64_t b_rows = p.tb == Trans::kNo ? p.k : p.n;
  Buffer<T> a(static_cast<size_t>(std::max<int64_t>(1, a_rows * p.lda)), p.offset);
  Buffer<T> b(static_cast<size_t>(std::max<int64_t>(1, b_rows * p.ldb)), p.offset);
  std::vector<T> c0(static_cast<size_t>(std::max<int64_t>(1, p.m * p.ldc)));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<T>(dist(rng));
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<T>(dist(rng));
  const T sentinel = static_cast<T>(12345.0);
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.ldc; ++j) {
      T& x = c0[i * p.ldc + j];
      if (j >= p.n) {
        x = sentinel;  // padding: must survive untouched
      } else if (p.beta == T(0)) {
        x = std::numeric_limits<T>::quiet_NaN();  // must not propagate
      } else {
        x = static_cast<T>(dist(rng));
      }
    }
  }
  std::vector<T> c = c0, ref = c0;
  if (nested) {
    // From inside a parallel region gemm must run inline and still be right.
    hnas::parallel_for(2, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        if (t != 0) continue;
        hnas::gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda, b.data(),
                   p.ldb, p.beta, c.data(), p.ldc);
      }
    });
  } else {
    hnas::gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda, b.data(),
               p.ldb, p.beta, c.data(), p.ldc);
  }
  hnas::gemm_reference(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda,
                       b.data(), p.ldb, p.beta, ref.data(), p.ldc);

  // Error bound: (K + 4) eps times the magnitude of the terms summed.
  const double eps = std::numeric_limits<T>::epsilon();
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.ldc; ++j) {
      const size_t idx = static_cast<size_t>(i * p.ldc + j);
      if (j >= p.n) {
        if (!(c[idx] == sentinel)) {
          std::printf("FAIL %s: padding C[%lld,%lld] overwritten\n", tag.c_str(),
                      (long long)i, (long long)j);
          return false;
        }
        continue;
      }
      double mag = 0.0;
      for (int64_t q = 0; q < p.k; ++q) {
        const T av = p.ta == Trans::kNo ? a[i * p.lda + q] : a[q * p.lda + i];
        const T bv = p.tb == Trans::kNo ? b[q * p.ldb + j] : b[j * p.ldb + q];
        mag += std::fabs(static_cast<double>(av) * static_cast<double>(bv));
      }
      mag = std::fabs(static_cast<double>(p.alpha)) * mag;
      if (p.beta != T(0)) mag += std::fabs(static_cast<double>(p.beta) * c0[idx]);
      const double tol = (static_cast<double>(p.k) + 4.0) * eps * mag + 1e-30;
      const double err = std::fabs(static_cast<double>(c[idx]) - static_cast<double>(ref[idx]));
      if (!(err <= tol)) {
        std::printf(
            "FAIL %s: %s M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld alpha=%g "
            "beta=%g at (%lld,%lld): got %.9g want %.9g (tol %.3g)\n",
            tag.c_str(), trans_name(p.ta, p.tb), (long long)p.m, (long long)p.n,
            (long long)p.k, (long long)p.lda, (long long)p.ldb, (long long)p.ldc,
            (double)p.alpha, (double)p.beta, (long long)i, (long long)j,
            (double)c[idx], (double)ref[idx], tol);
        return false;
      }
    }
  }
  return true;
}

template <typename T>
int check_family(const std::string& family, std::mt19937_64& rng) {
  int failures = 0;
  int cases = 0;
  const Trans kTrans[2] = {Trans::kNo, Trans::kYes};
  std::uniform_int_distribution<int> pad(0, 5);
  auto make = [&](Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, T alpha,
                  T beta, bool padded) {
    Problem<T> p{ta, tb, m, n, k, 0, 0, 0, alpha, beta};
    const int64_t a_cols = ta == Trans::kNo ? k : m;
    const int64_t b_cols = tb == Trans::kNo ? n : k;
    p.lda = std::max<int64_t>(1, a_cols + (padded ? pad(rng) : 0));
    p.ldb = std::max<int64_t>(1, b_cols + (padded ? pad(rng) : 0));
    p.ldc = std::max<int64_t>(1, n + (padded ? 1 + pad(rng) : 0));
    return p;
  };
  const std::string prec = sizeof(T) == 4 ? "f32" : "f64";
  auto run = [&](const Problem<T>& p, int threads, bool nested) {
    hnas::set_num_threads(threads);
    const std::string tag = family + "/" + prec + "/t" + std::to_string(threads) +
                            (nested ? "/nested" : "");
    ++cases;
    if (!run_case(p, rng, tag, nested)) ++failures;
  };

  // Fixed edge shapes: 1s, tile edges (around 4, 8, 24, 48), primes.
  const int64_t dims[] = {1, 2, 3, 7, 8, 9, 17, 23, 25, 47, 49, 63};
  std::uniform_int_distribution<int> pick(0, 11);
  const T alphas[] = {T(1), T(-0.5), T(2.25)};
  const T betas[] = {T(0), T(1), T(0.7)};
  for (Trans ta : kTrans) {
    for (Trans tb : kTrans) {
      for (int rep = 0; rep < 40; ++rep) {
        const int64_t m = dims[pick(rng)], n = dims[pick(rng)], k = dims[pick(rng)];
        const T alpha = alphas[rep % 3];
        const T beta = betas[(rep / 3) % 3];
        run(make(ta, tb, m, n, k, alpha, beta, rep % 2 == 0), 1, false);
      }
      // K == 0 (C = beta*C), alpha == 0, empty outputs.
      run(make(ta, tb, 5, 7, 0, T(1), T(0.5), true), 1, false);
      run(make(ta, tb, 5, 7, 0, T(1), T(0), true), 1, false);
      run(make(ta, tb, 9, 50, 13, T(0), T(0), true), 1, false);
      run(make(ta, tb, 9, 50, 13, T(0), T(-2), true), 1, false);
      run(make(ta, tb, 0, 7, 3, T(1), T(0), false), 1, false);
      run(make(ta, tb, 7, 0, 3, T(1), T(0), false), 1, false);
    }
  }
  // Random mid-size shapes, 1 and 2 threads, all trans combinations.
  std::uniform_int_distribution<int> mid(1, 300);
  for (int rep = 0; rep < 48; ++rep) {
    const Trans ta = kTrans[rep % 2], tb = kTrans[(rep / 2) % 2];
    const int64_t m = mid(rng), n = mid(rng), k = mid(rng);
    run(make(ta, tb, m, n, k, alphas[rep % 3], betas[(rep / 3) % 3], rep % 3 != 0),
        1 + rep % 2, false);
  }
  // Shapes that exercise the partition (N, M and K splits), the A-block row
  // split and the K super-blocks, plus a nested call.
  struct Big {
    int64_t m, n, k;
  };
  const Big bigs[] = {{16, 1500, 144}, {200, 70, 700},  {16, 144, 6000},
                      {200, 40, 9000}, {400, 30, 2000}, {33, 97, 1100},
                      {1, 3000, 700},  {3000, 1, 500},  {130, 130, 130},
                      {37, 3001, 401}, {5, 20000, 7}};
  int idx = 0;
  for (const Big& s : bigs) {
    for (Trans ta : kTrans) {
      for (Trans tb : kTrans) {
        const T beta = betas[idx % 3];
        const T alpha = alphas[(idx / 3) % 3];
        run(make(ta, tb, s.m, s.n, s.k, alpha, beta, idx % 2 == 0), 2, false);
        ++idx;
      }
    }
    run(make(Trans::kNo, Trans::kNo, s.m, s.n, s.k, T(1), T(0), true), 1, false);
  }
  run(make(Trans::kYes, Trans::kNo, 64, 300, 200, T(1), T(0.5), true), 2, true);
  // Long-K NT products with 64-byte aligned rows (the dot-product kernel,
  // where the family has one), including a K tail and K splits.
  const Big dots[] = {{16, 27, 4096}, {5, 7, 3001},   {13, 40, 2048},
                      {4, 6, 1024},   {9, 100, 1500}, {16, 64, 4096}, {20, 30, 12001}};
  for (const Big& s : dots) {
    for (int threads = 1; threads <= 2; ++threads) {
      Problem<T> p = make(Trans::kNo, Trans::kYes, s.m, s.n, s.k, alphas[threads], betas[threads], false);
      p.lda = p.ldb = (s.k + 15) / 16 * 16;
      p.offset = 0;
      run(p, threads, false);
    }
  }
  std::printf("  %-8s %s: %d cases, %d failures\n", family.c_str(), prec.c_str(),
              cases, failures);
  return failures;
}

int check_errors() {
  int failures = 0;
  auto expect = [&](const char* what, hnas::ErrorCode code, auto&& fn) {
    try {
      fn();
      std::printf("FAIL: %s did not throw\n", what);
      ++failures;
    } catch (const hnas::Error& e) {
      if (e.code() != code) {
        std::printf("FAIL: %s threw code %d\n", what, static_cast<int>(e.code()));
        ++failures;
      }
    }
  };
  expect("force unknown", hnas::ErrorCode::kInvalidArgument,
         [] { hnas::gemm_force_kernel("sse9"); });
  const hnas::CpuFeatures& f = hnas::cpu_features();
  if (!f.has_avx512_gemm()) {
    expect("force avx512", hnas::ErrorCode::kUnsupported,
           [] { hnas::gemm_force_kernel("avx512"); });
  }
  if (!f.has_avx2_fma()) {
    expect("force avx2", hnas::ErrorCode::kUnsupported,
           [] { hnas::gemm_force_kernel("avx2"); });
  }
  float x[4] = {0, 0, 0, 0};
  expect("negative M", hnas::ErrorCode::kInvalidArgument, [&] {
    hnas::gemm(Trans::kNo, Trans::kNo, -1, 1, 1, 1.0f, x, 1, x, 1, 0.0f, x, 1);
  });
  expect("short lda", hnas::ErrorCode::kInvalidArgument, [&] {
    hnas::gemm(Trans::kNo, Trans::kNo, 2, 2, 2, 1.0f, x, 1, x, 2, 0.0f, x, 2);
  });
  expect("short ldc", hnas::ErrorCode::kInvalidArgument, [&] {
    hnas::gemm(Trans::kNo, Trans::kNo, 2, 2, 2, 1.0f, x, 2, x, 2, 0.0f, x, 1);
  });
  return failures;
}

// ---------------------------------------------------------------------------
// Peak FMA rate: independent accumulator chains kept in registers.

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("avx512f,fma"))) float fma_loop_avx512(int64_t iters) {
  __m512 a0 = _mm512_set1_ps(0.1f), a1 = _mm512_set1_ps(0.2f), a2 = _mm512_set1_ps(0.3f),
         a3 = _mm512_set1_ps(0.4f), a4 = _mm512_set1_ps(0.5f), a5 = _mm512_set1_ps(0.6f),
         a6 = _mm512_set1_ps(0.7f), a7 = _mm512_set1_ps(0.8f), a8 = _mm512_set1_ps(0.9f),
         a9 = _mm512_set1_ps(1.0f), a10 = _mm512_set1_ps(1.1f), a11 = _mm512_set1_ps(1.2f),
         a12 = _mm512_set1_ps(1.3f), a13 = _mm512_set1_ps(1.4f), a14 = _mm512_set1_ps(1.5f),
         a15 = _mm512_set1_ps(1.6f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
    a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
    a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
    a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
    a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
    a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
    a12 = _mm512_fmadd_ps(a12, m, c); a13 = _mm512_fmadd_ps(a13, m, c);
    a14 = _mm512_fmadd_ps(a14, m, c); a15 = _mm512_fmadd_ps(a15, m, c);
    // Keeps the compiler from collapsing or vectorising the chains away.
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3));
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                     _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 a0 = _mm256_set1_ps(0.1f), a1 = _mm256_set1_ps(0.2f), a2 = _mm256_set1_ps(0.3f),
         a3 = _mm256_set1_ps(0.4f), a4 = _mm256_set1_ps(0.5f), a5 = _mm256_set1_ps(0.6f),
         a6 = _mm256_set1_ps(0.7f), a7 = _mm256_set1_ps(0.8f), a8 = _mm256_set1_ps(0.9f),
         a9 = _mm256_set1_ps(1.0f), a10 = _mm256_set1_ps(1.1f), a11 = _mm256_set1_ps(1.2f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
    a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
    a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
    a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
    a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
    a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}
#endif

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// fp32 FMA peak in GFLOP/s with `threads` threads (each running the loop).
// Many short bursts, keeping the best: on a shared machine a long run
// measures the neighbours as much as the FPU.
double measure_peak(int threads) {
  hnas::set_num_threads(threads);
  const hnas::CpuFeatures& f = hnas::cpu_features();
  double flops_per_iter = 0;
  float (*loop)(int64_t) = nullptr;
#if defined(__x86_64__) || defined(_M_X64)
  if (f.avx512f && f.fma) {
    loop = &fma_loop_avx512;
    flops_per_iter = 16 * 16 * 2;
  } else if (f.avx2 && f.fma) {
    loop = &fma_loop_avx2;
    flops_per_iter = 12 * 8 * 2;
  }
#endif
  (void)f;
  if (loop == nullptr) return 0.0;
  const int64_t iters = 400000;  // ~1 ms at 200 GFLOP/s
  double best = 0;
  volatile float sink = 0;
  const double t_end = now_s() + 1.5;
  for (int rep = 0; rep < 1000 && (rep < 20 || now_s() < t_end); ++rep) {
    const double t0 = now_s();
    hnas::parallel_for(threads, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) sink = sink + loop(iters);
    });
    const double dt = now_s() - t0;
    best = std::max(best, threads * iters * flops_per_iter / dt / 1e9);
  }
  return best;
}

// ---------------------------------------------------------------------------
// Benchmark

double g_bench_seconds = 0.5;  // per shape and configuration

struct Shape {
  const char* label;
  Trans ta, tb;
  int64_t m, n, k;
};

template <typename T>
double bench_gflops(const Shape& s, int threads) {
  hnas::set_num_threads(threads);
  const int64_t a_elems = s.m * s.k, b_elems = s.k * s.n, c_elems = s.m * s.n;
  // 64-byte aligned, as tensors from an aligned allocator would be.
  Buffer<T> a(a_elems, 0), b(b_elems, 0), c(c_elems, 0);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < a_elems; ++i) a[i] = dist(rng);
  for (int64_t i = 0; i < b_elems; ++i) b[i] = dist(rng);
  const int64_t lda = s.ta == Trans::kNo ? s.k : s.m;
  const int64_t ldb = s.tb == Trans::kNo ? s.n : s.k;
  auto once = [&] {
    hnas::gemm(s.ta, s.tb, s.m, s.n, s.k, T(1), a.data(), lda, b.data(), ldb, T(0),
               c.data(), s.n);
  };
  once();  // warm-up: page faults, pack buffers, pool threads
  // Best of many runs within a time budget: the machine may be shared, and
  // slow runs measure the neighbours rather than the code.
  double best = 1e30;
  const double t_end = now_s() + g_bench_seconds;
  for (int rep = 0; rep < 2000 && (rep < 10 || now_s() < t_end); ++rep) {
    const double t0 = now_s();
    once();
    best = std::min(best, now_s() - t0);
  }
  return 2.0 * s.m * s.n * s.k / best / 1e9;
}

void bench() {
  double peak1 = measure_peak(1);
  double peak2 = measure_peak(2);
  std::printf("\nkernel: %s   cpu: %s\n", hnas::gemm_kernel_name().c_str(),
              hnas::cpu_features_string().c_str());
  const Shape shapes[] = {
      {"square", Trans::kNo, Trans::kNo, 512, 512, 512},
      {"fwd", Trans::kNo, Trans::kNo, 16, 65536, 144},
      {"fwd", Trans::kNo, Trans::kNo, 32, 16384, 288},
      {"fwd", Trans::kNo, Trans::kNo, 64, 4096, 576},
      {"fwd", Trans::kNo, Trans::kNo, 16, 65536, 16},
      {"fwd", Trans::kNo, Trans::kNo, 64, 4096, 64},
      {"wgrad", Trans::kNo, Trans::kYes, 16, 144, 65536},
      {"wgrad", Trans::kNo, Trans::kYes, 32, 288, 16384},
      {"wgrad", Trans::kNo, Trans::kYes, 64, 576, 4096},
      {"wgrad", Trans::kNo, Trans::kYes, 16, 27, 65536},
      {"dgrad", Trans::kYes, Trans::kNo, 144, 65536, 16},
      {"dgrad", Trans::kYes, Trans::kNo, 288, 16384, 32},
      {"dgrad", Trans::kYes, Trans::kNo, 576, 4096, 64},
      {"square", Trans::kYes, Trans::kYes, 512, 512, 512},
  };
  struct Row {
    double f1, f2, d1, d2;
  };
  std::vector<Row> rows;
  for (const Shape& s : shapes) {
    rows.push_back({bench_gflops<float>(s, 1), bench_gflops<float>(s, 2),
                     bench_gflops<double>(s, 1), bench_gflops<double>(s, 2)});
  }
  // The peak is measured again after the shapes, keeping the best.
  peak1 = std::max(peak1, measure_peak(1));
  peak2 = std::max(peak2, measure_peak(2));
  std::printf("measured fp32 FMA peak: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (2 threads);"
              " fp64 peak taken as half\n",
              peak1, peak2);
  if (peak2 < 1.6 * peak1) {
    // The two threads never ran at the same time: another process holds a
    // core. Percentages for 2 threads then use twice the 1-thread peak.
    std::printf("note: the 2-thread peak is below 1.6x the 1-thread peak (the machine is"
                " busy); 2-thread %% uses 2 x %.1f\n",
                peak1);
    peak2 = 2 * peak1;
  }
  std::printf("\n");
  std::printf("%-7s %-2s %5s %6s %6s | %-14s %-14s | %-14s %-14s\n", "shape", "op", "M",
              "N", "K", "fp32 1T", "fp32 2T", "fp64 1T", "fp64 2T");
  std::printf("%s\n", std::string(100, '-').c_str());
  for (size_t r = 0; r < rows.size(); ++r) {
    const Shape& s = shapes[r];
    const double f1 = rows[r].f1, f2 = rows[r].f2, d1 = rows[r].d1, d2 = rows[r].d2;
    auto cell = [](double g, double peak) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%6.1f (%3.0f%%)", g, peak > 0 ? 100.0 * g / peak : 0.0);
      return std::string(buf);
    };
    std::printf("%-7s %-2s %5lld %6lld %6lld | %-14s %-14s | %-14s %-14s\n", s.label,
                trans_name(s.ta, s.tb), (long long)s.m, (long long)s.n, (long long)s.k,
                cell(f1, peak1).c_str(), cell(f2, peak2).c_str(),
                cell(d1, peak1 / 2).c_str(), cell(d2, peak2 / 2).c_str());
  }
  hnas::set_num_threads(0);
}

}  // namespace

int main(int argc, char** argv) {
  bool do_check = true, do_bench = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) do_bench = false;
    if (std::strcmp(argv[i], "--bench") == 0) do_check = false;
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) g_bench_seconds = std::atof(argv[++i]);
  }
  int failures = 0;
  try {
    std::printf("cpu features: %s; auto kernel: %s\n", hnas::cpu_features_string().c_str(),
                hnas::gemm_kernel_name().c_str());
    if (do_check) {
      std::mt19937_64 rng(12345);
      failures += check_errors();
      const hnas::CpuFeatures& f = hnas::cpu_features();
      std::vector<std::string> families = {"portable"};
      if (f.has_avx2_fma()) families.push_back("avx2");
      if (f.has_avx512_gemm()) families.push_back("avx512");
      for (const std::string& fam : families) {
        hnas::gemm_force_kernel(fam);
        if (hnas::gemm_kernel_name() != fam) {
          std::printf("FAIL: forced %s but kernel is %s\n", fam.c_str(),
                      hnas::gemm_kernel_name().c_str());
          ++failures;
        }
        failures += check_family<float>(fam, rng);
        failures += check_family<double>(fam, rng);
      }
      hnas::gemm_force_kernel("auto");
      hnas::set_num_threads(0);
      std::printf("correctness: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    }
    if (do_bench) bench();
  } catch (const std::exception& e) {
    std::printf("FAIL: exception: %s\n", e.what());
    return 2;
  }
  return failures == 0 ? 0 : 1;
}
