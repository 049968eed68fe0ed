// ReLU, the element-wise ops, and the helper kernels other ops share
// (row bias, segment sums).
#include <string>

#include "cuda/cuda_api.h"
#include "cuda/device_util.cuh"
#include "cuda/ops_cuda.h"
#include "cuda/ops_cuda_internal.h"
#include "cuda/runtime.h"

namespace hnas {
namespace {

using cuda::current_stream;
using cuda::grid_for;
using cuda::kThreads;

template <typename S>
__global__ void relu_forward_kernel(S* __restrict__ y, const S* __restrict__ x, int64_t n) {
  HNAS_GRID_LOOP(i, n) { y[i] = primal(x[i]) > 0 ? x[i] : S(0); }  // NaN -> 0, as on the CPU
}

// dx, dy: [C][copies·N][plane]; x: [C][N][plane] shared by the copies.
template <typename S>
__global__ void relu_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy,
                                     const S* __restrict__ x, int64_t m, int64_t copies,
                                     int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t r = t / m, i = t - r * m;
    if (primal(x[(r / copies) * m + i]) > 0) dx[t] += dy[t];  // the mask of the primal part
  }
}

template <typename S>
__global__ void add_kernel(S* __restrict__ y, const S* __restrict__ a, const S* __restrict__ b,
                           int64_t n) {
  HNAS_GRID_LOOP(i, n) { y[i] = a[i] + b[i]; }
}

template <typename S>
__global__ void scale_accumulate_kernel(S* __restrict__ dx, const S* __restrict__ dy, S scale,
                                        int64_t n) {
  HNAS_GRID_LOOP(i, n) { dx[i] += scale * dy[i]; }
}

template <typename S>
__global__ void mul_const_kernel(S* __restrict__ y, const S* __restrict__ x, S value, int64_t n) {
  HNAS_GRID_LOOP(i, n) { y[i] = x[i] * value; }
}

template <typename S>
__global__ void add_row_bias_kernel(S* __restrict__ y, const S* __restrict__ bias, int64_t ld,
                                    int64_t total) {
  HNAS_GRID_LOOP(t, total) { y[t] += bias[t / ld]; }
}

// One block per (ch, row) segment, blockIdx.x = ch·rows + row.
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void segment_sums_kernel(S* __restrict__ out, int64_t out_row_stride,
                                    int64_t out_ch_stride, const S* __restrict__ in,
                                    int64_t in_ch_stride, int64_t rows, int64_t len, double scale,
                                    bool accumulate) {
  const int64_t seg = blockIdx.x;
  const int64_t ch = seg / rows, row = seg - ch * rows;
  const S* p = in + ch * in_ch_stride + row * len;
  A s(0);
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) s += A(p[i]);
  s = cuda::block_sum(s);
  if (threadIdx.x == 0) {
    S* o = out + row * out_row_stride + ch * out_ch_stride;
    const S v = S(s * A(scale));
    *o = accumulate ? *o + v : v;
  }
}

}  // namespace

namespace cuda {

int to_int(int64_t v, const char* what) {
  HNAS_CHECK(v >= 0 && v < 2147483647, kUnsupported, std::string(what) + ": size 2^31 or more");
  return static_cast<int>(v);
}

template <typename S>
void add_row_bias(S* y, const S* bias, int64_t rows, int64_t ld) {
  const int64_t total = rows * ld;
  if (total == 0) return;
  auto k = add_row_bias_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, bias, ld, total);
  check_launch("add_row_bias");
}

template <typename S>
void segment_sums(S* out, int64_t out_row_stride, int64_t out_ch_stride, const S* in,
                  int64_t channels, int64_t in_ch_stride, int64_t rows, int64_t len, double scale,
                  bool accumulate) {
  const int64_t segments = channels * rows;
  if (segments == 0) return;
  to_int(segments, "segment_sums");
  auto k = segment_sums_kernel<S>;
  HNAS_LAUNCH(k, static_cast<unsigned>(segments), reduce_threads(len), current_stream())
  (out, out_row_stride, out_ch_stride, in, in_ch_stride, rows, len, scale, accumulate);
  check_launch("segment_sums");
}

#define HNAS_INSTANTIATE_SHARED_HELPERS(S)                                                     \
  template void add_row_bias<S>(S*, const S*, int64_t, int64_t);                               \
  template void segment_sums<S>(S*, int64_t, int64_t, const S*, int64_t, int64_t, int64_t, int64_t, \
                                double, bool);
HNAS_INSTANTIATE_SHARED_HELPERS(float)
HNAS_INSTANTIATE_SHARED_HELPERS(double)
HNAS_INSTANTIATE_SHARED_HELPERS(Dual<float>)
HNAS_INSTANTIATE_SHARED_HELPERS(Dual<double>)

}  // namespace cuda

template <typename S>
void relu_forward_cuda(S* y, const S* x, int64_t n) {
  if (n <= 0) return;
  auto k = relu_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(n), kThreads, current_stream())(y, x, n);
  cuda::check_launch("relu_forward_cuda");
}

template <typename S>
void relu_backward_cuda(S* dx, const S* dy, const S* x, const Shape4& xs, int64_t copies) {
  const int64_t m = xs.n * xs.plane(), total = xs.c * copies * m;
  if (total <= 0) return;
  auto k = relu_backward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(dx, dy, x, m, copies, total);
  cuda::check_launch("relu_backward_cuda");
}

template <typename S>
void add_forward_cuda(S* y, const S* a, const S* b, int64_t n) {
  if (n <= 0) return;
  auto k = add_kernel<S>;
  HNAS_LAUNCH(k, grid_for(n), kThreads, current_stream())(y, a, b, n);
  cuda::check_launch("add_forward_cuda");
}

template <typename S>
void scale_accumulate_cuda(S* dx, const S* dy, double scale, int64_t n) {
  if (n <= 0) return;
  auto k = scale_accumulate_kernel<S>;
  HNAS_LAUNCH(k, grid_for(n), kThreads, current_stream())(dx, dy, static_cast<S>(scale), n);
  cuda::check_launch("scale_accumulate_cuda");
}

template <typename S>
void mul_const_forward_cuda(S* y, const S* x, double value, int64_t n) {
  if (n <= 0) return;
  auto k = mul_const_kernel<S>;
  HNAS_LAUNCH(k, grid_for(n), kThreads, current_stream())(y, x, static_cast<S>(value), n);
  cuda::check_launch("mul_const_forward_cuda");
}

#define HNAS_INSTANTIATE_TENSOR_OPS_CUDA(S)                                                   \
  template void relu_forward_cuda<S>(S*, const S*, int64_t);                                  \
  template void relu_backward_cuda<S>(S*, const S*, const S*, const Shape4&, int64_t);        \
  template void add_forward_cuda<S>(S*, const S*, const S*, int64_t);                         \
  template void scale_accumulate_cuda<S>(S*, const S*, double, int64_t);                      \
  template void mul_const_forward_cuda<S>(S*, const S*, double, int64_t);
HNAS_INSTANTIATE_TENSOR_OPS_CUDA(float)
HNAS_INSTANTIATE_TENSOR_OPS_CUDA(double)
HNAS_INSTANTIATE_TENSOR_OPS_CUDA(Dual<float>)
HNAS_INSTANTIATE_TENSOR_OPS_CUDA(Dual<double>)

}  // namespace hnas
