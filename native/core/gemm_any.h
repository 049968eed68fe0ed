// gemm over any engine scalar: float and double go straight to the blocked
// GEMM; Dual<T> splits into primal and tangent planes and runs three real
// GEMMs: (A + εA')(B + εB') = AB + ε(A'B + AB').
#pragma once
#include <vector>

#include "core/dual.h"
#include "core/error.h"
#include "core/buffer_pool.h"
#include "core/gemm.h"

namespace hnas {

inline void gemm_any(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                     float* C, int64_t ldc) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm_any(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha,
                     const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                     double* C, int64_t ldc) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace detail {
// Copies a rows x cols strided matrix of duals into dense primal/tangent planes.
template <typename T>
void split_dual(const Dual<T>* X, int64_t rows, int64_t cols, int64_t ld, PoolVector<T>& re,
                PoolVector<T>& du) {
  re.resize(static_cast<size_t>(rows * cols));
  du.resize(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i) {
    const Dual<T>* row = X + i * ld;
    T* r = re.data() + i * cols;
    T* d = du.data() + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      r[j] = row[j].v;
      d[j] = row[j].d;
    }
  }
}
}  // namespace detail

template <typename T>
void gemm_any(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, Dual<T> alpha,
              const Dual<T>* A, int64_t lda, const Dual<T>* B, int64_t ldb, Dual<T> beta,
              Dual<T>* C, int64_t ldc) {
  // Only real scalars occur in the engine's calls; keep the general case out.
  HNAS_CHECK(alpha.d == T(0) && beta.d == T(0), kInternal, "gemm_any: dual alpha/beta");
  const int64_t a_rows = ta == Trans::kNo ? M : K, a_cols = ta == Trans::kNo ? K : M;
  const int64_t b_rows = tb == Trans::kNo ? K : N, b_cols = tb == Trans::kNo ? N : K;
  PoolVector<T> ar, ad, br, bd;
  detail::split_dual(A, a_rows, a_cols, lda, ar, ad);
  detail::split_dual(B, b_rows, b_cols, ldb, br, bd);
  PoolVector<T> cr(static_cast<size_t>(M * N)), cd(static_cast<size_t>(M * N));
  gemm(ta, tb, M, N, K, T(1), ar.data(), a_cols, br.data(), b_cols, T(0), cr.data(), N);
  gemm(ta, tb, M, N, K, T(1), ad.data(), a_cols, br.data(), b_cols, T(0), cd.data(), N);
  gemm(ta, tb, M, N, K, T(1), ar.data(), a_cols, bd.data(), b_cols, T(1), cd.data(), N);
  for (int64_t i = 0; i < M; ++i) {
    Dual<T>* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      const T pr = alpha.v * cr[i * N + j];
      const T pd = alpha.v * cd[i * N + j];
      if (beta.v == T(0)) {
        c[j] = Dual<T>(pr, pd);
      } else {
        c[j] = Dual<T>(beta.v * c[j].v + pr, beta.v * c[j].d + pd);
      }
    }
  }
}

}  // namespace hnas
