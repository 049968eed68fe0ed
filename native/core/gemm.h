// General matrix multiply on row-major matrices:
//   C = alpha * op(A) * op(B) + beta * C
// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides.
// beta == 0 overwrites C without reading it (NaN in C is not propagated).
// Cache-blocked with SIMD micro-kernels chosen at run time from what the CPU
// supports (AVX-512, AVX2+FMA, portable C++). Uses the shared thread pool.
#pragma once
#include <cstdint>
#include <string>

namespace hnas {

enum class Trans { kNo, kYes };

void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc);
void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
          const double* A, int64_t lda, const double* B, int64_t ldb,
          double beta, double* C, int64_t ldc);

// Plain triple-loop reference (no blocking, no SIMD, no threads); what the
// fast path is tested against.
template <typename T>
void gemm_reference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                    T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
                    T beta, T* C, int64_t ldc);

// Which kernel family the dispatcher picked: "avx512", "avx2" or "portable".
std::string gemm_kernel_name();
// Forces a kernel family (for tests and benchmarks); "auto" restores the
// CPU-feature choice. Throws hnas::Error for an unknown or unsupported name.
void gemm_force_kernel(const std::string& name);

}  // namespace hnas
