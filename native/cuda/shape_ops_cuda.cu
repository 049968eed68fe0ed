// CUDA twins of the shape ops (concat, slice, flatten), the per-sample
// scaling of drop-path, the BN running-statistics update, and the small
// helpers the device engine needs (float → double conversion, strided row
// gather). Same contracts as ops/tensor_ops.cpp and ops/batch_norm.cpp:
// backward accumulates; layouts are CNHW.
#include <string>

#include "cuda/cuda_api.h"
#include "cuda/device_memory.h"
#include "cuda/device_util.cuh"
#include "cuda/ops_cuda.h"
#include "cuda/ops_cuda_internal.h"
#include "cuda/runtime.h"

namespace hnas {
namespace {

using cuda::current_stream;
using cuda::grid_for;
using cuda::kThreads;

// y: [C][N][ho][wo] from x: [C][N][h][w] (planes = C·N).
template <typename S>
__global__ void slice_forward_kernel(S* __restrict__ y, const S* __restrict__ x, int64_t h, int64_t w,
                                     int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t th,
                                     int64_t tw, int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t q = t / (ho * wo), r = t - q * ho * wo, i = r / wo, j = r - i * wo;
    y[t] = x[q * h * w + (sh + i * th) * w + sw + j * tw];
  }
}

// One thread per dy element: a slice with positive steps maps distinct dy
// elements to distinct dx elements, so the scatter has no collisions.
template <typename S>
__global__ void slice_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy, int64_t h, int64_t w,
                                      int64_t ho, int64_t wo, int64_t sh, int64_t sw, int64_t th,
                                      int64_t tw, int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t q = t / (ho * wo), r = t - q * ho * wo, i = r / wo, j = r - i * wo;
    dx[q * h * w + (sh + i * th) * w + sw + j * tw] += dy[t];
  }
}

// x: [rows = C·copies·N][plane] *= scale[row % n].
template <typename S>
__global__ void sample_scale_kernel(S* __restrict__ x, const S* __restrict__ scale, int64_t n, int64_t plane,
                                    int64_t total) {
  HNAS_GRID_LOOP(t, total) { x[t] *= scale[(t / plane) % n]; }
}

// y[(c·plane + i)·n + s] = x[(c·n + s)·plane + i], one thread per y element.
template <typename S>
__global__ void flatten_forward_kernel(S* __restrict__ y, const S* __restrict__ x, int64_t n, int64_t plane,
                                       int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t f = t / n, s = t - f * n, c = f / plane, i = f - c * plane;
    y[t] = x[(c * n + s) * plane + i];
  }
}

// dx[(c·q + s)·plane + i] += dy[(c·plane + i)·q + s], one thread per dx element.
template <typename S>
__global__ void flatten_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy, int64_t q, int64_t plane,
                                        int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t row = t / plane, i = t - row * plane, c = row / q, s = row - c * q;
    dx[t] += dy[(c * plane + i) * q + s];
  }
}

// One block per channel: the mean, then the squared deviations around it,
// both summed in double (two passes, as batch_norm_update_running_cpu).
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_update_running_kernel(S* __restrict__ run_mean, S* __restrict__ run_var,
                                         const S* __restrict__ x, int64_t m, double momentum) {
  const int64_t c = blockIdx.x;
  const S* xc = x + c * m;
  A s(0);
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) s += A(xc[i]);
  const A mean = cuda::block_sum(s) / A(double(m));
  A v(0);
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const A d = A(xc[i]) - mean;
    v += d * d;
  }
  v = cuda::block_sum(v);
  if (threadIdx.x == 0) {
    const A unbiased = m > 1 ? v / A(double(m - 1)) : v;  // PyTorch keeps the unbiased variance
    const A keep(1 - momentum), take(momentum);
    run_mean[c] = S(keep * A(run_mean[c]) + take * mean);
    run_var[c] = S(keep * A(run_var[c]) + take * unbiased);
  }
}

// y[r·width + j] = double(x[r·ldx + j]).
template <typename S>
__global__ void to_double_kernel(double* __restrict__ y, const S* __restrict__ x, int64_t width, int64_t ldx,
                                 int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t r = t / width, j = t - r * width;
    y[t] = double(x[r * ldx + j]);
  }
}

}  // namespace

template <typename S>
void concat_forward_cuda(S* y, const S* const* xs, const int64_t* block_sizes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (block_sizes[i] > 0) cuda::copy_on_device(y, xs[i], size_t(block_sizes[i]) * sizeof(S), current_stream());
    y += block_sizes[i];
  }
}

template <typename S>
void concat_backward_cuda(S* const* dxs, const S* dy, const int64_t* block_sizes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (dxs[i]) scale_accumulate_cuda(dxs[i], dy, 1.0, block_sizes[i]);
    dy += block_sizes[i];
  }
}

template <typename S>
void slice_forward_cuda(S* y, const S* x, const Shape4& xs, const SliceParams& p) {
  const int64_t ho = slice_out(p.start_h, p.end_h, p.step_h), wo = slice_out(p.start_w, p.end_w, p.step_w);
  const int64_t total = xs.c * xs.n * ho * wo;
  if (total <= 0) return;
  auto k = slice_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())
  (y, x, xs.h, xs.w, ho, wo, p.start_h, p.start_w, p.step_h, p.step_w, total);
  cuda::check_launch("slice_forward_cuda");
}

template <typename S>
void slice_backward_cuda(S* dx, const S* dy, const Shape4& xs, const SliceParams& p, int64_t copies) {
  const int64_t ho = slice_out(p.start_h, p.end_h, p.step_h), wo = slice_out(p.start_w, p.end_w, p.step_w);
  const int64_t total = xs.c * copies * xs.n * ho * wo;
  if (total <= 0) return;
  auto k = slice_backward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())
  (dx, dy, xs.h, xs.w, ho, wo, p.start_h, p.start_w, p.step_h, p.step_w, total);
  cuda::check_launch("slice_backward_cuda");
}

template <typename S>
void sample_scale_cuda(S* x, const S* scale, int64_t c, int64_t n, int64_t plane, int64_t copies) {
  const int64_t total = c * copies * n * plane;
  if (total <= 0) return;
  auto k = sample_scale_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(x, scale, n, plane, total);
  cuda::check_launch("sample_scale_cuda");
}

template <typename S>
void flatten_forward_cuda(S* y, const S* x, const Shape4& xs) {
  const int64_t total = xs.numel();
  if (total <= 0) return;
  auto k = flatten_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, x, xs.n, xs.plane(), total);
  cuda::check_launch("flatten_forward_cuda");
}

template <typename S>
void flatten_backward_cuda(S* dx, const S* dy, const Shape4& xs, int64_t copies) {
  const int64_t total = xs.c * copies * xs.n * xs.plane();
  if (total <= 0) return;
  auto k = flatten_backward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(dx, dy, copies * xs.n, xs.plane(), total);
  cuda::check_launch("flatten_backward_cuda");
}

template <typename S>
void batch_norm_update_running_cuda(S* run_mean, S* run_var, const S* x, const Shape4& xs, double momentum) {
  const int64_t m = xs.n * xs.plane();
  if (xs.c <= 0 || m <= 0) return;
  cuda::to_int(xs.c, "batch_norm_update_running_cuda");
  auto k = bn_update_running_kernel<S>;
  HNAS_LAUNCH(k, static_cast<unsigned>(xs.c), cuda::reduce_threads(m), current_stream())(run_mean, run_var, x, m, momentum);
  cuda::check_launch("batch_norm_update_running_cuda");
}

template <typename S>
void to_double_cuda(double* y, const S* x, int64_t rows, int64_t width, int64_t ldx) {
  const int64_t total = rows * width;
  if (total <= 0) return;
  auto k = to_double_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, x, width, ldx, total);
  cuda::check_launch("to_double_cuda");
}

#define HNAS_INSTANTIATE_SHAPE_OPS_CUDA(S)                                                          \
  template void concat_forward_cuda<S>(S*, const S* const*, const int64_t*, int64_t);               \
  template void concat_backward_cuda<S>(S* const*, const S*, const int64_t*, int64_t);              \
  template void slice_forward_cuda<S>(S*, const S*, const Shape4&, const SliceParams&);             \
  template void slice_backward_cuda<S>(S*, const S*, const Shape4&, const SliceParams&, int64_t);   \
  template void sample_scale_cuda<S>(S*, const S*, int64_t, int64_t, int64_t, int64_t);             \
  template void flatten_forward_cuda<S>(S*, const S*, const Shape4&);                               \
  template void flatten_backward_cuda<S>(S*, const S*, const Shape4&, int64_t);                     \
  template void batch_norm_update_running_cuda<S>(S*, S*, const S*, const Shape4&, double);
HNAS_INSTANTIATE_SHAPE_OPS_CUDA(float)
HNAS_INSTANTIATE_SHAPE_OPS_CUDA(double)
HNAS_INSTANTIATE_SHAPE_OPS_CUDA(Dual<float>)
HNAS_INSTANTIATE_SHAPE_OPS_CUDA(Dual<double>)
// Θ is accumulated from real gradient rows only.
template void to_double_cuda<float>(double*, const float*, int64_t, int64_t, int64_t);
template void to_double_cuda<double>(double*, const double*, int64_t, int64_t, int64_t);

}  // namespace hnas
