// Average, max and global average pooling. Backward passes gather: one
// thread per input element sums the outputs whose window holds it, in the
// order the CPU ops scatter them (row-major over outputs), so results match
// the CPU bit for bit given the same dy — and no atomics are needed.
#include "cuda/cuda_api.h"
#include "cuda/device_memory.h"
#include "cuda/device_util.cuh"
#include "cuda/ops_cuda.h"
#include "cuda/runtime.h"

namespace hnas {
namespace {

using cuda::current_stream;
using cuda::grid_for;
using cuda::kThreads;

struct PoolDims {
  int64_t h, w, ho, wo;
  int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  bool count_include_pad;
};

PoolDims pool_dims(const Shape4& xs, const Pool2dParams& p) {
  PoolDims d{};
  d.h = xs.h;
  d.w = xs.w;
  d.ho = window_out(xs.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h);
  d.wo = window_out(xs.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w);
  d.kh = p.kh;
  d.kw = p.kw;
  d.sh = p.stride_h;
  d.sw = p.stride_w;
  d.pt = p.pad_t;
  d.pl = p.pad_l;
  d.pb = p.pad_b;
  d.pr = p.pad_r;
  d.dh = p.dil_h;
  d.dw = p.dil_w;
  d.count_include_pad = p.count_include_pad;
  return d;
}

__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// The divisor of output (oh, ow)'s average, as avg_window() on the CPU.
__device__ __forceinline__ int64_t avg_count(const PoolDims& d, int64_t oh, int64_t ow) {
  const int64_t hs = oh * d.sh - d.pt, ws = ow * d.sw - d.pl;
  if (d.count_include_pad) {
    const int64_t he = imin(hs + d.kh, d.h + d.pb), we = imin(ws + d.kw, d.w + d.pr);
    return (he - hs) * (we - ws);
  }
  return (imin(hs + d.kh, d.h) - imax(hs, 0)) * (imin(ws + d.kw, d.w) - imax(ws, 0));
}

template <typename S>
__global__ void avg_pool_forward_kernel(S* __restrict__ y, const S* __restrict__ x, PoolDims d,
                                        int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t o = t % (d.ho * d.wo), q = t / (d.ho * d.wo);
    const int64_t oh = o / d.wo, ow = o % d.wo;
    const int64_t hs = oh * d.sh - d.pt, ws = ow * d.sw - d.pl;
    const S* xp = x + q * d.h * d.w;
    S s(0);
    for (int64_t ih = imax(hs, 0); ih < imin(hs + d.kh, d.h); ++ih)
      for (int64_t iw = imax(ws, 0); iw < imin(ws + d.kw, d.w); ++iw) s += xp[ih * d.w + iw];
    const int64_t count = avg_count(d, oh, ow);
    y[t] = count > 0 ? s / S(count) : S(0);
  }
}

// dx, dy: [C][copies·N] planes; one thread per dx element.
template <typename S>
__global__ void avg_pool_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy, PoolDims d,
                                         int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t plane = d.h * d.w;
    const int64_t q = t / plane, e = t - q * plane, ih = e / d.w, iw = e % d.w;
    // Outputs whose window [o·s − pad, o·s − pad + k) holds ih (resp. iw).
    const int64_t nh = ih + d.pt - d.kh + 1, nw = iw + d.pl - d.kw + 1;
    const int64_t oh0 = nh <= 0 ? 0 : (nh + d.sh - 1) / d.sh;
    const int64_t ow0 = nw <= 0 ? 0 : (nw + d.sw - 1) / d.sw;
    const int64_t oh1 = imin(d.ho - 1, (ih + d.pt) / d.sh);
    const int64_t ow1 = imin(d.wo - 1, (iw + d.pl) / d.sw);
    const S* dyp = dy + q * d.ho * d.wo;
    S acc = dx[t];
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t count = avg_count(d, oh, ow);
        if (count > 0) acc += dyp[oh * d.wo + ow] / S(count);
      }
    dx[t] = acc;
  }
}

// Index in the plane of output (oh, ow)'s maximum, or -1 when its window
// holds no input element; padding never wins, ties keep the first maximum.
// Dual numbers compare their primal parts (the tangent follows the argmax).
template <typename S>
__device__ __forceinline__ int64_t argmax_window(const S* xp, const PoolDims& d, int64_t oh,
                                                 int64_t ow) {
  int64_t best = -1;
  primal_t<S> best_v(0);
  for (int64_t ki = 0; ki < d.kh; ++ki) {
    const int64_t ih = oh * d.sh - d.pt + ki * d.dh;
    if (ih < 0 || ih >= d.h) continue;
    for (int64_t kj = 0; kj < d.kw; ++kj) {
      const int64_t iw = ow * d.sw - d.pl + kj * d.dw;
      if (iw < 0 || iw >= d.w) continue;
      const primal_t<S> v = primal(xp[ih * d.w + iw]);
      if (best < 0 || v > best_v) {
        best = ih * d.w + iw;
        best_v = v;
      }
    }
  }
  return best;
}

template <typename S>
__global__ void max_pool_forward_kernel(S* __restrict__ y, const S* __restrict__ x, PoolDims d,
                                        int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t o = t % (d.ho * d.wo), q = t / (d.ho * d.wo);
    const S* xp = x + q * d.h * d.w;
    const int64_t a = argmax_window(xp, d, o / d.wo, o % d.wo);
    y[t] = a >= 0 ? xp[a] : S(0);
  }
}

// The argmax of every forward output ([C][N][Ho][Wo]), for the backward gather.
template <typename S>
__global__ void max_pool_argmax_kernel(int* __restrict__ arg, const S* __restrict__ x, PoolDims d,
                                       int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t o = t % (d.ho * d.wo), q = t / (d.ho * d.wo);
    arg[t] = static_cast<int>(argmax_window(x + q * d.h * d.w, d, o / d.wo, o % d.wo));
  }
}

template <typename S>
__global__ void max_pool_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy,
                                         const int* __restrict__ arg, PoolDims d, int64_t n,
                                         int64_t planes, int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t plane = d.h * d.w;
    const int64_t q = t / plane, e = t - q * plane, ih = e / d.w, iw = e % d.w;
    const int64_t c = q / planes, s = q % n;  // forward plane (c, s)
    const int* ap = arg + (c * n + s) * d.ho * d.wo;
    const S* dyp = dy + q * d.ho * d.wo;
    S acc = dx[t];
    // Candidate outputs in row-major order: ki descending gives oh ascending.
    for (int64_t ki = d.kh - 1; ki >= 0; --ki) {
      const int64_t nh = ih + d.pt - ki * d.dh;
      if (nh < 0 || nh % d.sh != 0 || nh / d.sh >= d.ho) continue;
      const int64_t oh = nh / d.sh;
      for (int64_t kj = d.kw - 1; kj >= 0; --kj) {
        const int64_t nw = iw + d.pl - kj * d.dw;
        if (nw < 0 || nw % d.sw != 0 || nw / d.sw >= d.wo) continue;
        const int64_t ow = nw / d.sw;
        if (ap[oh * d.wo + ow] == e) acc += dyp[oh * d.wo + ow];
      }
    }
    dx[t] = acc;
  }
}

// One thread per (channel, sample) plane, summed in order like the CPU.
template <typename S>
__global__ void global_avg_pool_forward_kernel(S* __restrict__ y, const S* __restrict__ x,
                                               int64_t plane, int64_t total) {
  HNAS_GRID_LOOP(q, total) {
    S s(0);
    for (int64_t i = 0; i < plane; ++i) s += x[q * plane + i];
    y[q] = s / S(plane);
  }
}

template <typename S>
__global__ void global_avg_pool_backward_kernel(S* __restrict__ dx, const S* __restrict__ dy,
                                                int64_t plane, int64_t total) {
  HNAS_GRID_LOOP(t, total) { dx[t] += dy[t / plane] / S(plane); }
}

}  // namespace

template <typename S>
void avg_pool2d_forward_cuda(S* y, const S* x, const Shape4& xs, const Pool2dParams& p) {
  HNAS_CHECK(p.dil_h == 1 && p.dil_w == 1, kUnsupported, "avg_pool2d: dilation is not supported");
  const PoolDims d = pool_dims(xs, p);
  const int64_t total = xs.c * xs.n * d.ho * d.wo;
  if (total == 0) return;
  auto k = avg_pool_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, x, d, total);
  cuda::check_launch("avg_pool2d_forward_cuda");
}

template <typename S>
void avg_pool2d_backward_cuda(S* dx, const S* dy, const Shape4& xs, const Pool2dParams& p,
                              int64_t copies) {
  HNAS_CHECK(p.dil_h == 1 && p.dil_w == 1, kUnsupported, "avg_pool2d: dilation is not supported");
  const PoolDims d = pool_dims(xs, p);
  const int64_t total = xs.c * copies * xs.n * d.h * d.w;
  if (total == 0) return;
  auto k = avg_pool_backward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(dx, dy, d, total);
  cuda::check_launch("avg_pool2d_backward_cuda");
}

template <typename S>
void max_pool2d_forward_cuda(S* y, const S* x, const Shape4& xs, const Pool2dParams& p) {
  const PoolDims d = pool_dims(xs, p);
  const int64_t total = xs.c * xs.n * d.ho * d.wo;
  if (total == 0) return;
  auto k = max_pool_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, x, d, total);
  cuda::check_launch("max_pool2d_forward_cuda");
}

template <typename S>
void max_pool2d_backward_cuda(S* dx, const S* dy, const S* x, const Shape4& xs,
                              const Pool2dParams& p, int64_t copies) {
  const PoolDims d = pool_dims(xs, p);
  HNAS_CHECK(d.h * d.w < 2147483647, kUnsupported, "max_pool2d: plane of 2^31 elements or more");
  const int64_t outputs = xs.c * xs.n * d.ho * d.wo;
  const int64_t total = xs.c * copies * xs.n * d.h * d.w;
  if (outputs == 0 || total == 0) return;
  cuda::DeviceBuffer<int> arg(static_cast<size_t>(outputs));
  auto ka = max_pool_argmax_kernel<S>;
  HNAS_LAUNCH(ka, grid_for(outputs), kThreads, current_stream())(arg.data(), x, d, outputs);
  cuda::check_launch("max_pool2d_backward_cuda (argmax)");
  auto kb = max_pool_backward_kernel<S>;
  HNAS_LAUNCH(kb, grid_for(total), kThreads, current_stream())
  (dx, dy, arg.data(), d, xs.n, copies * xs.n, total);
  cuda::check_launch("max_pool2d_backward_cuda");
}

template <typename S>
void global_avg_pool_forward_cuda(S* y, const S* x, const Shape4& xs) {
  const int64_t total = xs.c * xs.n;
  if (total == 0) return;
  auto k = global_avg_pool_forward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(y, x, xs.plane(), total);
  cuda::check_launch("global_avg_pool_forward_cuda");
}

template <typename S>
void global_avg_pool_backward_cuda(S* dx, const S* dy, const Shape4& xs, int64_t copies) {
  const int64_t total = xs.c * copies * xs.n * xs.plane();
  if (total == 0) return;
  auto k = global_avg_pool_backward_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(dx, dy, xs.plane(), total);
  cuda::check_launch("global_avg_pool_backward_cuda");
}

#define HNAS_INSTANTIATE_POOL_CUDA(S)                                                           \
  template void avg_pool2d_forward_cuda<S>(S*, const S*, const Shape4&, const Pool2dParams&);  \
  template void avg_pool2d_backward_cuda<S>(S*, const S*, const Shape4&, const Pool2dParams&,  \
                                            int64_t);                                          \
  template void max_pool2d_forward_cuda<S>(S*, const S*, const Shape4&, const Pool2dParams&);  \
  template void max_pool2d_backward_cuda<S>(S*, const S*, const S*, const Shape4&,             \
                                            const Pool2dParams&, int64_t);                     \
  template void global_avg_pool_forward_cuda<S>(S*, const S*, const Shape4&);                  \
  template void global_avg_pool_backward_cuda<S>(S*, const S*, const Shape4&, int64_t);
HNAS_INSTANTIATE_POOL_CUDA(float)
HNAS_INSTANTIATE_POOL_CUDA(double)
HNAS_INSTANTIATE_POOL_CUDA(Dual<float>)
HNAS_INSTANTIATE_POOL_CUDA(Dual<double>)

}  // namespace hnas
