// ReLU. The mask is taken on the primal value, so a Dual pass treats the
// kink like double backward does (ReLU'' = 0).
#include "core/dual.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {

template <typename S>
void relu_forward_cpu(S* y, const S* x, int64_t n) {
  parallel_for(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = primal(x[i]) > 0 ? x[i] : S(0);
  });
}

template <typename S>
void relu_backward_cpu(S* dx, const S* dy, const S* x, const Shape4& xs, int64_t copies) {
  const int64_t m = xs.n * xs.plane();
  parallel_for(xs.c * copies, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const S* xc = x + (r / copies) * m;  // the forward batch, shared by all copies
      const S* d = dy + r * m;
      S* o = dx + r * m;
      for (int64_t i = 0; i < m; ++i) {
        if (primal(xc[i]) > 0) o[i] += d[i];
      }
    }
  });
}

#define HNAS_INSTANTIATE_RELU(S)                                   \
  template void relu_forward_cpu<S>(S*, const S*, int64_t);        \
  template void relu_backward_cpu<S>(S*, const S*, const S*, const Shape4&, int64_t);
HNAS_INSTANTIATE_RELU(float)
HNAS_INSTANTIATE_RELU(double)
HNAS_INSTANTIATE_RELU(Dual<float>)
HNAS_INSTANTIATE_RELU(Dual<double>)

}  // namespace hnas
