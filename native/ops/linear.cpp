// Linear layer on [F][N] features: y[K][N] = W[K][F] · x[F][N] + b.
#include "core/dual.h"
#include "core/gemm_any.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {

template <typename S>
void linear_forward_cpu(S* y, const S* x, const S* w, const S* bias, int64_t f, int64_t k,
                        int64_t n) {
  gemm_any(Trans::kNo, Trans::kNo, k, n, f, S(1), w, f, x, n, S(0), y, n);
  if (bias) {
    for (int64_t r = 0; r < k; ++r)
      for (int64_t j = 0; j < n; ++j) y[r * n + j] += bias[r];
  }
}

template <typename S>
void linear_backward_cpu(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                         const S* w, int64_t f, int64_t k, int64_t n, int64_t copies,
                         ParamGradMode mode) {
  const int64_t planes = copies * n;  // dy: [K][B·N]
  if (dx) gemm_any(Trans::kYes, Trans::kNo, f, planes, k, S(1), w, f, dy, planes, S(1), dx, planes);
  if (dbias.wanted()) {
    for (int64_t r = 0; r < k; ++r)
      for (int64_t q = 0; q < planes; ++q) {
        const int64_t row = mode == ParamGradMode::kSum ? q / n : q;
        dbias.data[row * dbias.row_stride + r] += dy[r * planes + q];
      }
  }
  if (!dw.wanted()) return;
  if (mode == ParamGradMode::kSum) {
    for (int64_t b = 0; b < copies; ++b)
      gemm_any(Trans::kNo, Trans::kYes, k, f, n, S(1), dy + b * n, planes, x, n, S(1),
               dw.data + b * dw.row_stride, f);
  } else {
    // Per sample: the outer product dy_q ⊗ x_s.
    parallel_for(planes, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t s = q % n;
        S* row = dw.data + q * dw.row_stride;
        for (int64_t r = 0; r < k; ++r) {
          const S d = dy[r * planes + q];
          S* wr = row + r * f;
          for (int64_t j = 0; j < f; ++j) wr[j] += d * x[j * n + s];
        }
      }
    });
  }
}

#define HNAS_INSTANTIATE_LINEAR(S)                                                             \
  template void linear_forward_cpu<S>(S*, const S*, const S*, const S*, int64_t, int64_t,      \
                                      int64_t);                                                \
  template void linear_backward_cpu<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,       \
                                       const S*, int64_t, int64_t, int64_t, int64_t,           \
                                       ParamGradMode);
HNAS_INSTANTIATE_LINEAR(float)
HNAS_INSTANTIATE_LINEAR(double)
HNAS_INSTANTIATE_LINEAR(Dual<float>)
HNAS_INSTANTIATE_LINEAR(Dual<double>)

}  // namespace hnas
