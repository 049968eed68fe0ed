// BatchNorm2d on the device. The per-channel statistics are reduced in two
// levels so that small channel counts still fill the device: blocks of a
// (channel, chunk) grid write partial sums in double, a finalize kernel adds
// them in a fixed order (results are deterministic). As on the CPU: float
// data takes Σx and Σx² in one pass (in double), double data a second pass
// around the mean; the affine map runs in double with the unrounded mean and
// 1/σ. Dual numbers (Hessian-vector products) take the two-pass path with
// both parts in double. Backward reduces Σdy and Σdy·x̂ per (channel, copy, sample) plane,
// which serves both parameter-gradient modes.
#include <algorithm>
#include <cmath>
#include <type_traits>

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

// Pass kinds of the partial-sum kernel.
enum : int { kSumAndSquares = 0, kSumOnly = 1, kSquaredDeviations = 2 };

// partial[(c·chunks + g)·2 + {0,1}] over elements [g·len, (g+1)·len) of channel c.
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_partials_kernel(A* __restrict__ partial, const S* __restrict__ x,
                                   const A* __restrict__ stats, int64_t m, int64_t chunks,
                                   int64_t len, int kind) {
  const int64_t c = blockIdx.y, g = blockIdx.x;
  const S* xc = x + c * m;
  const int64_t i0 = g * len, i1 = (g + 1) * len < m ? (g + 1) * len : m;
  const A mean = kind == kSquaredDeviations ? stats[c * 2] : A(0);
  A a(0), b(0);
  for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) {
    const A v(xc[i]);
    if (kind == kSquaredDeviations) {
      a += (v - mean) * (v - mean);
    } else {
      a += v;
      if (kind == kSumAndSquares) b += v * v;
    }
  }
  cuda::block_sum2(a, b);
  if (threadIdx.x == 0) {
    partial[(c * chunks + g) * 2] = a;
    partial[(c * chunks + g) * 2 + 1] = b;
  }
}

// stats[c·2] = mean, stats[c·2+1] = 1/sqrt(var + eps), in double (A); the
// rounded values go to save_mean/save_rstd. `step`: 0 = float one-pass
// statistics, 1 = mean only (double data, first pass), 2 = variance from
// squared deviations (second pass), 3 = running statistics (eval).
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_finalize_kernel(A* __restrict__ stats, S* __restrict__ save_mean,
                                   S* __restrict__ save_rstd, const A* __restrict__ partial,
                                   const S* __restrict__ run_mean, const S* __restrict__ run_var,
                                   int64_t channels, int64_t chunks, int64_t m, double eps,
                                   int step) {
  HNAS_GRID_LOOP(c, channels) {
    A a(0), b(0);
    if (step != 3) {
      for (int64_t g = 0; g < chunks; ++g) {
        a += partial[(c * chunks + g) * 2];
        b += partial[(c * chunks + g) * 2 + 1];
      }
    }
    const A dm = A(double(m)), one = A(1.0);
    A mean(0), rstd(0);
    bool done = true;
    if (step == 0) {
      mean = a / dm;
      A var = b / dm - mean * mean;
      if (primal(var) < 0) var = A(0);  // rounding on a constant channel
      rstd = one / sqrt(var + A(eps));
    } else if (step == 1) {
      stats[c * 2] = a / dm;
      done = false;
    } else if (step == 2) {
      mean = stats[c * 2];
      rstd = one / sqrt(a / dm + A(eps));
    } else {
      mean = A(run_mean[c]);
      rstd = one / sqrt(A(run_var[c]) + A(eps));
    }
    if (done) {
      stats[c * 2] = mean;
      stats[c * 2 + 1] = rstd;
      save_mean[c] = S(mean);
      save_rstd[c] = S(rstd);
    }
  }
}

template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_apply_kernel(S* __restrict__ y, const S* __restrict__ x,
                                const A* __restrict__ stats, const S* __restrict__ gamma,
                                const S* __restrict__ beta, int64_t m, int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t c = t / m;
    const A mean = stats[c * 2], rstd = stats[c * 2 + 1];
    const A scale = gamma ? A(gamma[c]) * rstd : rstd;
    const A shift = beta ? A(beta[c]) : A(0);
    y[t] = S((A(x[t]) - mean) * scale + shift);
  }
}

// One block per plane p = (c·copies + b)·n + s of dy: sums[p·2] = Σ dy·x̂,
// sums[p·2+1] = Σ dy over the plane, x̂ from the saved (rounded) statistics.
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_backward_sums_kernel(A* __restrict__ sums, const S* __restrict__ dy,
                                        const S* __restrict__ x, const S* __restrict__ save_mean,
                                        const S* __restrict__ save_rstd, int64_t n,
                                        int64_t copies, int64_t plane) {
  const int64_t p = blockIdx.x;
  const int64_t s = p % n, cb = p / n, c = cb / copies;
  const S* dyp = dy + p * plane;
  const S* xp = x + (c * n + s) * plane;
  const A mean(save_mean[c]), rstd(save_rstd[c]);
  A a(0), b(0);
  for (int64_t i = threadIdx.x; i < plane; i += blockDim.x) {
    const A d(dyp[i]);
    a += d * ((A(xp[i]) - mean) * rstd);
    b += d;
  }
  cuda::block_sum2(a, b);
  if (threadIdx.x == 0) {
    sums[p * 2] = a;
    sums[p * 2 + 1] = b;
  }
}

// One thread per (c, b): parameter gradients, and the coefficients of dx
// coef[(c·copies + b)·3 + {0,1,2}] = γ/σ, mean(dy), mean(dy·x̂) in S.
template <typename S, typename A = cuda::dacc_t<S>>
__global__ void bn_backward_finalize_kernel(S* __restrict__ coef, S* __restrict__ dgamma,
                                            int64_t dgamma_stride, S* __restrict__ dbeta,
                                            int64_t dbeta_stride, const A* __restrict__ sums,
                                            const S* __restrict__ save_rstd,
                                            const S* __restrict__ gamma, int64_t channels,
                                            int64_t copies, int64_t n, int64_t m,
                                            bool per_sample) {
  HNAS_GRID_LOOP(cb, channels * copies) {
    const int64_t c = cb / copies, b = cb % copies;
    A acc_dyx(0), acc_dy(0);
    for (int64_t s = 0; s < n; ++s) {
      const A a = sums[(cb * n + s) * 2], bs = sums[(cb * n + s) * 2 + 1];
      acc_dyx += a;
      acc_dy += bs;
      if (per_sample) {
        const int64_t row = b * n + s;
        if (dgamma) dgamma[row * dgamma_stride + c] += S(a);
        if (dbeta) dbeta[row * dbeta_stride + c] += S(bs);
      }
    }
    const S sum_dy(acc_dy), sum_dyx(acc_dyx);
    if (!per_sample) {
      if (dgamma) dgamma[b * dgamma_stride + c] += sum_dyx;
      if (dbeta) dbeta[b * dbeta_stride + c] += sum_dy;
    }
    const S g = gamma ? gamma[c] : S(1);
    coef[cb * 3] = g * save_rstd[c];
    coef[cb * 3 + 1] = sum_dy / S(m);
    coef[cb * 3 + 2] = sum_dyx / S(m);
  }
}

template <typename S>
__global__ void bn_backward_dx_kernel(S* __restrict__ dx, const S* __restrict__ dy,
                                      const S* __restrict__ x, const S* __restrict__ coef,
                                      const S* __restrict__ save_mean,
                                      const S* __restrict__ save_rstd, int64_t n, int64_t copies,
                                      int64_t plane, bool train, int64_t total) {
  const int64_t m = n * plane;
  HNAS_GRID_LOOP(t, total) {
    const int64_t cb = t / m, i = t - cb * m, c = cb / copies;
    const S k = coef[cb * 3];
    if (train) {
      const S xhat = (x[c * m + i] - save_mean[c]) * save_rstd[c];
      dx[t] += k * (dy[t] - coef[cb * 3 + 1] - xhat * coef[cb * 3 + 2]);
    } else {
      dx[t] += dy[t] * k;
    }
  }
}

template <typename S>
__global__ void accumulate_kernel(S* __restrict__ dx, const S* __restrict__ dy, int64_t total) {
  HNAS_GRID_LOOP(t, total) { dx[t] += dy[t]; }
}

}  // namespace

template <typename S>
void batch_norm_forward_cuda(S* y, S* save_mean, S* save_rstd, const S* x, const S* gamma,
                             const S* beta, const S* run_mean, const S* run_var, const Shape4& xs,
                             BnMode mode, double eps) {
  const int64_t m = xs.n * xs.plane(), total = xs.numel();
  if (total == 0) return;
  if (mode == BnMode::kIdentity) {
    cuda::copy_on_device(y, x, static_cast<size_t>(total) * sizeof(S), current_stream());
    return;
  }
  HNAS_CHECK(xs.c <= 65535, kUnsupported, "batch_norm_cuda: more than 65535 channels");
  using A = cuda::dacc_t<S>;
  cuda::DeviceBuffer<A> stats(static_cast<size_t>(xs.c) * 2);
  auto finalize = bn_finalize_kernel<S>;
  if (mode == BnMode::kTrain) {
    // About 8K elements per block, at most 64 chunks per channel.
    const int64_t chunks = std::min<int64_t>(64, std::max<int64_t>(1, m / 8192));
    const int64_t len = (m + chunks - 1) / chunks;
    cuda::DeviceBuffer<A> partial(static_cast<size_t>(xs.c * chunks) * 2);
    auto partials = bn_partials_kernel<S>;
    const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(xs.c));
    const int threads = cuda::reduce_threads(len);
    constexpr bool one_pass = std::is_same_v<S, float>;
    HNAS_LAUNCH(partials, grid, threads, current_stream())
    (partial.data(), x, stats.data(), m, chunks, len, one_pass ? kSumAndSquares : kSumOnly);
    cuda::check_launch("batch_norm_forward_cuda (sums)");
    HNAS_LAUNCH(finalize, grid_for(xs.c), kThreads, current_stream())
    (stats.data(), save_mean, save_rstd, partial.data(), run_mean, run_var, xs.c, chunks, m, eps,
     one_pass ? 0 : 1);
    cuda::check_launch("batch_norm_forward_cuda (statistics)");
    if (!one_pass) {
      HNAS_LAUNCH(partials, grid, threads, current_stream())
      (partial.data(), x, stats.data(), m, chunks, len, int(kSquaredDeviations));
      cuda::check_launch("batch_norm_forward_cuda (variance)");
      HNAS_LAUNCH(finalize, grid_for(xs.c), kThreads, current_stream())
      (stats.data(), save_mean, save_rstd, partial.data(), run_mean, run_var, xs.c, chunks, m,
       eps, 2);
      cuda::check_launch("batch_norm_forward_cuda (statistics)");
    }
  } else {
    HNAS_CHECK(run_mean && run_var, kInvalidArgument,
               "batch_norm_cuda: eval mode needs running statistics");
    HNAS_LAUNCH(finalize, grid_for(xs.c), kThreads, current_stream())
    (stats.data(), save_mean, save_rstd, static_cast<const A*>(nullptr), run_mean, run_var,
     xs.c, int64_t(0), m, eps, 3);
    cuda::check_launch("batch_norm_forward_cuda (running statistics)");
  }
  auto apply = bn_apply_kernel<S>;
  HNAS_LAUNCH(apply, grid_for(total), kThreads, current_stream())
  (y, x, stats.data(), gamma, beta, m, total);
  cuda::check_launch("batch_norm_forward_cuda (affine)");
}

template <typename S>
void batch_norm_backward_cuda(S* dx, GradRows<S> dgamma, GradRows<S> dbeta, const S* dy,
                              const S* x, const S* save_mean, const S* save_rstd, const S* gamma,
                              const Shape4& xs, BnMode mode, int64_t copies, ParamGradMode pmode) {
  const int64_t plane = xs.plane(), n = xs.n, m = n * plane;
  const int64_t total = xs.c * copies * m;
  if (total == 0) return;
  if (mode == BnMode::kIdentity) {
    if (dx) {
      auto k = accumulate_kernel<S>;
      HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(dx, dy, total);
      cuda::check_launch("batch_norm_backward_cuda (identity)");
    }
    return;
  }
  const int64_t planes = xs.c * copies * n;
  cuda::to_int(planes, "batch_norm_backward_cuda");
  cuda::DeviceBuffer<cuda::dacc_t<S>> sums(static_cast<size_t>(planes) * 2);
  cuda::DeviceBuffer<S> coef(static_cast<size_t>(xs.c * copies) * 3);
  auto ks = bn_backward_sums_kernel<S>;
  HNAS_LAUNCH(ks, static_cast<unsigned>(planes), cuda::reduce_threads(plane), current_stream())
  (sums.data(), dy, x, save_mean, save_rstd, n, copies, plane);
  cuda::check_launch("batch_norm_backward_cuda (sums)");
  auto kf = bn_backward_finalize_kernel<S>;
  HNAS_LAUNCH(kf, grid_for(xs.c * copies), kThreads, current_stream())
  (coef.data(), dgamma.data, dgamma.row_stride, dbeta.data, dbeta.row_stride, sums.data(),
   save_rstd, gamma, xs.c, copies, n, m, pmode == ParamGradMode::kPerSample);
  cuda::check_launch("batch_norm_backward_cuda (parameter gradients)");
  if (!dx) return;
  auto kd = bn_backward_dx_kernel<S>;
  HNAS_LAUNCH(kd, grid_for(total), kThreads, current_stream())
  (dx, dy, x, coef.data(), save_mean, save_rstd, n, copies, plane, mode == BnMode::kTrain, total);
  cuda::check_launch("batch_norm_backward_cuda (input gradient)");
}

#define HNAS_INSTANTIATE_BN_CUDA(S)                                                            \
  template void batch_norm_forward_cuda<S>(S*, S*, S*, const S*, const S*, const S*, const S*, \
                                           const S*, const Shape4&, BnMode, double);           \
  template void batch_norm_backward_cuda<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,  \
                                            const S*, const S*, const S*, const Shape4&,       \
                                            BnMode, int64_t, ParamGradMode);
HNAS_INSTANTIATE_BN_CUDA(float)
HNAS_INSTANTIATE_BN_CUDA(double)
HNAS_INSTANTIATE_BN_CUDA(Dual<float>)
HNAS_INSTANTIATE_BN_CUDA(Dual<double>)

}  // namespace hnas
