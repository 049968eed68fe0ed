// Elementwise and shape ops: Add, Mul by a constant, Concat on channels,
// spatial Slice, Flatten.
#include <algorithm>

#include "core/dual.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {

template <typename S>
void add_forward_cpu(S* y, const S* a, const S* b, int64_t n) {
  parallel_for(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = a[i] + b[i];
  });
}

template <typename S>
void scale_accumulate_cpu(S* dx, const S* dy, double scale, int64_t n) {
  const S s(static_cast<primal_t<S>>(scale));
  parallel_for(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    if (scale == 1.0) {
      for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i];
    } else {
      for (int64_t i = i0; i < i1; ++i) dx[i] += s * dy[i];
    }
  });
}

template <typename S>
void mul_const_forward_cpu(S* y, const S* x, double value, int64_t n) {
  const S s(static_cast<primal_t<S>>(value));
  parallel_for(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = x[i] * s;
  });
}

template <typename S>
void concat_forward_cpu(S* y, const S* const* xs, const int64_t* block_sizes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    std::copy(xs[i], xs[i] + block_sizes[i], y);
    y += block_sizes[i];
  }
}

template <typename S>
void concat_backward_cpu(S* const* dxs, const S* dy, const int64_t* block_sizes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    S* d = dxs[i];
    if (d) {
      for (int64_t j = 0; j < block_sizes[i]; ++j) d[j] += dy[j];
    }
    dy += block_sizes[i];
  }
}

int64_t slice_out(int64_t start, int64_t end, int64_t step) {
  HNAS_CHECK(step > 0, kInvalidArgument, "slice: step must be positive");
  HNAS_CHECK(end > start, kInvalidArgument, "slice: empty range");
  return (end - start + step - 1) / step;
}

template <typename S>
void slice_forward_cpu(S* y, const S* x, const Shape4& xs, const SliceParams& p) {
  const int64_t ho = slice_out(p.start_h, p.end_h, p.step_h);
  const int64_t wo = slice_out(p.start_w, p.end_w, p.step_w);
  parallel_for(xs.c * xs.n, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const S* xp = x + q * xs.h * xs.w;
      S* yp = y + q * ho * wo;
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j)
          yp[i * wo + j] = xp[(p.start_h + i * p.step_h) * xs.w + p.start_w + j * p.step_w];
    }
  });
}

template <typename S>
void slice_backward_cpu(S* dx, const S* dy, const Shape4& xs, const SliceParams& p,
                        int64_t copies) {
  const int64_t ho = slice_out(p.start_h, p.end_h, p.step_h);
  const int64_t wo = slice_out(p.start_w, p.end_w, p.step_w);
  parallel_for(xs.c * copies * xs.n, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      S* dp = dx + q * xs.h * xs.w;
      const S* dyp = dy + q * ho * wo;
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j)
          dp[(p.start_h + i * p.step_h) * xs.w + p.start_w + j * p.step_w] += dyp[i * wo + j];
    }
  });
}

template <typename S>
void sample_scale_cpu(S* x, const S* scale, int64_t c, int64_t n, int64_t plane, int64_t copies) {
  const int64_t rows = c * copies * n;
  parallel_for(rows, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, plane)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const S s = scale[r % n];
      S* p = x + r * plane;
      for (int64_t i = 0; i < plane; ++i) p[i] *= s;
    }
  });
}

template <typename S>
void flatten_forward_cpu(S* y, const S* x, const Shape4& xs) {
  const int64_t plane = xs.plane(), n = xs.n;
  for (int64_t c = 0; c < xs.c; ++c)
    for (int64_t s = 0; s < n; ++s)
      for (int64_t i = 0; i < plane; ++i) y[(c * plane + i) * n + s] = x[(c * n + s) * plane + i];
}

template <typename S>
void flatten_backward_cpu(S* dx, const S* dy, const Shape4& xs, int64_t copies) {
  const int64_t plane = xs.plane(), q = copies * xs.n;
  for (int64_t c = 0; c < xs.c; ++c)
    for (int64_t s = 0; s < q; ++s)
      for (int64_t i = 0; i < plane; ++i) dx[(c * q + s) * plane + i] += dy[(c * plane + i) * q + s];
}

#define HNAS_INSTANTIATE_TENSOR_OPS(S)                                                          \
  template void add_forward_cpu<S>(S*, const S*, const S*, int64_t);                           \
  template void scale_accumulate_cpu<S>(S*, const S*, double, int64_t);                        \
  template void mul_const_forward_cpu<S>(S*, const S*, double, int64_t);                       \
  template void concat_forward_cpu<S>(S*, const S* const*, const int64_t*, int64_t);           \
  template void concat_backward_cpu<S>(S* const*, const S*, const int64_t*, int64_t);          \
  template void slice_forward_cpu<S>(S*, const S*, const Shape4&, const SliceParams&);         \
  template void slice_backward_cpu<S>(S*, const S*, const Shape4&, const SliceParams&, int64_t); \
  template void sample_scale_cpu<S>(S*, const S*, int64_t, int64_t, int64_t, int64_t);         \
  template void flatten_forward_cpu<S>(S*, const S*, const Shape4&);                           \
  template void flatten_backward_cpu<S>(S*, const S*, const Shape4&, int64_t);
HNAS_INSTANTIATE_TENSOR_OPS(float)
HNAS_INSTANTIATE_TENSOR_OPS(double)
HNAS_INSTANTIATE_TENSOR_OPS(Dual<float>)
HNAS_INSTANTIATE_TENSOR_OPS(Dual<double>)

}  // namespace hnas
