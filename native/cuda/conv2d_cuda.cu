// Conv2d (im2col + GEMM) and Linear (GEMM) on the device, structured like
// ops/conv2d.cpp and ops/linear.cpp: the im2col buffer is rebuilt in sample
// chunks (bounded memory), 1x1/stride-1/unpadded convolutions use x as the
// column matrix, the input gradient is W_gᵀ·dy scattered back by col2im —
// here a gather, one thread per input element, so no atomics — and
// per-sample weight gradients are one batched GEMM per cotangent copy.
#include <algorithm>

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

constexpr int64_t kColBudget = int64_t(1) << 24;  // elements per im2col chunk

struct ConvDims {
  int64_t cin, n, h, w, cout, ho, wo, groups, cin_g, cout_g, kg;
  int64_t kh, kw, sh, sw, pt, pl, dh, dw;
  bool pointwise;
};

ConvDims conv_dims(const Shape4& xs, int64_t cout, const Conv2dParams& p) {
  HNAS_CHECK(p.groups > 0 && xs.c % p.groups == 0 && cout % p.groups == 0, kInvalidArgument,
             "conv2d: channels not divisible by groups");
  ConvDims g{};
  g.cin = xs.c;
  g.n = xs.n;
  g.h = xs.h;
  g.w = xs.w;
  g.cout = cout;
  g.groups = p.groups;
  g.ho = window_out(xs.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h);
  g.wo = window_out(xs.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w);
  g.cin_g = xs.c / p.groups;
  g.cout_g = cout / p.groups;
  g.kg = g.cin_g * p.kh * p.kw;
  g.kh = p.kh;
  g.kw = p.kw;
  g.sh = p.stride_h;
  g.sw = p.stride_w;
  g.pt = p.pad_t;
  g.pl = p.pad_l;
  g.dh = p.dil_h;
  g.dw = p.dil_w;
  g.pointwise = p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_t == 0 &&
                p.pad_l == 0 && p.pad_b == 0 && p.pad_r == 0;
  return g;
}

int64_t chunk_for(int64_t count, int64_t per_item) {
  return std::max<int64_t>(1, std::min<int64_t>(count, kColBudget / std::max<int64_t>(1, per_item)));
}

// col[r][(s − n0)·Ho·Wo + oh·Wo + ow], r = (ci·kh + ki)·kw + kj, for the
// channels of group `grp` and samples [n0, n0 + nc) of x ([Cin][planes][H][W]).
template <typename S>
__global__ void im2col_kernel(S* __restrict__ col, const S* __restrict__ x, ConvDims g,
                              int64_t grp, int64_t planes, int64_t n0, int64_t nc, int64_t total) {
  const int64_t howo = g.ho * g.wo, ld = nc * howo;
  HNAS_GRID_LOOP(t, total) {
    const int64_t r = t / ld, rem = t - r * ld;
    const int64_t s = rem / howo, o = rem - s * howo, oh = o / g.wo, ow = o - oh * g.wo;
    const int64_t kj = r % g.kw, ki = (r / g.kw) % g.kh, ci = r / (g.kw * g.kh);
    const int64_t ih = oh * g.sh - g.pt + ki * g.dh, iw = ow * g.sw - g.pl + kj * g.dw;
    S v(0);
    if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
      v = x[((grp * g.cin_g + ci) * planes + n0 + s) * g.h * g.w + ih * g.w + iw];
    col[t] = v;
  }
}

// dx[channels of grp][planes q0 .. q0 + nc) += col2im(dcol), one thread per
// dx element summing its (ki, kj) terms in the CPU's order.
template <typename S>
__global__ void col2im_kernel(S* __restrict__ dx, const S* __restrict__ dcol, ConvDims g,
                              int64_t grp, int64_t planes, int64_t q0, int64_t nc, int64_t total) {
  const int64_t howo = g.ho * g.wo, ld = nc * howo, hw = g.h * g.w;
  HNAS_GRID_LOOP(t, total) {
    const int64_t ci = t / (nc * hw), rem = t - ci * nc * hw;
    const int64_t qq = rem / hw, e = rem - qq * hw, ih = e / g.w, iw = e - ih * g.w;
    S* d = dx + ((grp * g.cin_g + ci) * planes + q0 + qq) * hw + e;
    S acc = *d;
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      const int64_t nh = ih + g.pt - ki * g.dh;
      if (nh < 0 || nh % g.sh != 0 || nh / g.sh >= g.ho) continue;
      const int64_t oh = nh / g.sh;
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t nw = iw + g.pl - kj * g.dw;
        if (nw < 0 || nw % g.sw != 0 || nw / g.sw >= g.wo) continue;
        const int64_t ow = nw / g.sw;
        const int64_t r = (ci * g.kh + ki) * g.kw + kj;
        acc += dcol[r * ld + qq * howo + oh * g.wo + ow];
      }
    }
    *d = acc;
  }
}

// Per-sample linear weight gradients: row q (= b·N + s) of dw gets the outer
// product dy[:, q] ⊗ x[:, s].
template <typename S>
__global__ void linear_outer_kernel(S* __restrict__ dw, int64_t row_stride,
                                    const S* __restrict__ dy, const S* __restrict__ x, int64_t f,
                                    int64_t k, int64_t n, int64_t planes, int64_t total) {
  HNAS_GRID_LOOP(t, total) {
    const int64_t q = t / (k * f), rem = t - q * k * f, r = rem / f, j = rem - r * f;
    dw[q * row_stride + r * f + j] += dy[r * planes + q] * x[j * n + q % n];
  }
}

template <typename S>
void im2col(S* col, const S* x, const ConvDims& g, int64_t grp, int64_t planes, int64_t n0,
            int64_t nc) {
  const int64_t total = g.kg * nc * g.ho * g.wo;
  auto k = im2col_kernel<S>;
  HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())(col, x, g, grp, planes, n0, nc, total);
  cuda::check_launch("conv2d_cuda (im2col)");
}

}  // namespace

template <typename S>
void conv2d_forward_cuda(S* y, const S* x, const S* w, const S* bias, const Shape4& xs,
                         int64_t cout, const Conv2dParams& p) {
  const ConvDims g = conv_dims(xs, cout, p);
  const int64_t howo = g.ho * g.wo, ld_y = g.n * howo;
  if (ld_y == 0 || cout == 0) return;
  const int64_t chunk = chunk_for(g.n, g.kg * howo);
  cuda::DeviceBuffer<S> col;
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    const S* wg = w + grp * g.cout_g * g.kg;
    S* yg = y + grp * g.cout_g * ld_y;
    if (g.pointwise) {
      gemm_cuda(Trans::kNo, Trans::kNo, g.cout_g, ld_y, g.kg, S(1), wg, g.kg,
                x + grp * g.cin_g * ld_y, ld_y, S(0), yg, ld_y);
      continue;
    }
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t n1 = std::min(g.n, n0 + chunk), cols = (n1 - n0) * howo;
      col.resize(static_cast<size_t>(g.kg * cols));
      im2col(col.data(), x, g, grp, g.n, n0, n1 - n0);
      gemm_cuda(Trans::kNo, Trans::kNo, g.cout_g, cols, g.kg, S(1), wg, g.kg, col.data(), cols,
                S(0), yg + n0 * howo, ld_y);
    }
  }
  if (bias) cuda::add_row_bias(y, bias, g.cout, ld_y);
}

template <typename S>
void conv2d_backward_cuda(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                          const S* w, const Shape4& xs, int64_t cout, const Conv2dParams& p,
                          int64_t copies, ParamGradMode mode) {
  const ConvDims g = conv_dims(xs, cout, p);
  const int64_t howo = g.ho * g.wo;
  const int64_t planes = copies * g.n;   // planes of dy and dx
  const int64_t ld_dy = planes * howo;   // row stride of dy's channels
  const int64_t ld_x = g.n * g.h * g.w;  // row stride of x's channels
  if (planes == 0 || howo == 0) return;

  if (dx) {
    const int64_t qchunk = chunk_for(planes, g.kg * howo);
    cuda::DeviceBuffer<S> dcol;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const S* wg = w + grp * g.cout_g * g.kg;
      const S* dyg = dy + grp * g.cout_g * ld_dy;
      if (g.pointwise) {
        gemm_cuda(Trans::kYes, Trans::kNo, g.kg, ld_dy, g.cout_g, S(1), wg, g.kg, dyg, ld_dy, S(1),
                  dx + grp * g.cin_g * ld_dy, ld_dy);
        continue;
      }
      for (int64_t q0 = 0; q0 < planes; q0 += qchunk) {
        const int64_t q1 = std::min(planes, q0 + qchunk), nc = q1 - q0, cols = nc * howo;
        dcol.resize(static_cast<size_t>(g.kg * cols));
        gemm_cuda(Trans::kYes, Trans::kNo, g.kg, cols, g.cout_g, S(1), wg, g.kg, dyg + q0 * howo,
                  ld_dy, S(0), dcol.data(), cols);
        const int64_t total = g.cin_g * nc * g.h * g.w;
        auto k = col2im_kernel<S>;
        HNAS_LAUNCH(k, grid_for(total), kThreads, current_stream())
        (dx, dcol.data(), g, grp, planes, q0, nc, total);
        cuda::check_launch("conv2d_backward_cuda (col2im)");
      }
    }
  }

  // Bias: Σ of dy over the plane (kPerSample) or over the copy's N planes
  // (kSum); either way a contiguous segment of each channel row.
  if (dbias.wanted()) {
    const bool sum = mode == ParamGradMode::kSum;
    cuda::segment_sums(dbias.data, dbias.row_stride, int64_t(1), dy, g.cout, ld_dy,
                       sum ? copies : planes, sum ? g.n * howo : howo, 1.0, true);
  }

  if (!dw.wanted()) return;
  const int64_t chunk = chunk_for(g.n, g.kg * howo);
  cuda::DeviceBuffer<S> col;
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    const S* dyg = dy + grp * g.cout_g * ld_dy;
    const int64_t woff = grp * g.cout_g * g.kg;
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t n1 = std::min(g.n, n0 + chunk), cols = (n1 - n0) * howo;
      const S* colp;
      int64_t ld_col;
      if (g.pointwise) {
        colp = x + grp * g.cin_g * ld_x + n0 * howo;
        ld_col = ld_x;
      } else {
        col.resize(static_cast<size_t>(g.kg * cols));
        im2col(col.data(), x, g, grp, g.n, n0, n1 - n0);
        colp = col.data();
        ld_col = cols;
      }
      for (int64_t b = 0; b < copies; ++b) {
        if (mode == ParamGradMode::kSum) {
          // dW_b += dy_b · colᵀ over this sample chunk.
          gemm_cuda(Trans::kNo, Trans::kYes, g.cout_g, g.kg, cols, S(1),
                    dyg + (b * g.n + n0) * howo, ld_dy, colp, ld_col, S(1),
                    dw.data + b * dw.row_stride + woff, g.kg);
        } else {
          // One GEMM per sample s of the chunk, batched: dW_{b,s} += dy_{b,s} · col_sᵀ.
          gemm_batched_cuda(Trans::kNo, Trans::kYes, g.cout_g, g.kg, howo, S(1),
                            dyg + (b * g.n + n0) * howo, ld_dy, howo, colp, ld_col, howo, S(1),
                            dw.data + (b * g.n + n0) * dw.row_stride + woff, g.kg, dw.row_stride,
                            n1 - n0);
        }
      }
    }
  }
}

template <typename S>
void linear_forward_cuda(S* y, const S* x, const S* w, const S* bias, int64_t f, int64_t k,
                         int64_t n) {
  gemm_cuda(Trans::kNo, Trans::kNo, k, n, f, S(1), w, f, x, n, S(0), y, n);
  if (bias) cuda::add_row_bias(y, bias, k, n);
}

template <typename S>
void linear_backward_cuda(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                          const S* w, int64_t f, int64_t k, int64_t n, int64_t copies,
                          ParamGradMode mode) {
  const int64_t planes = copies * n;  // dy: [K][B·N]
  if (planes == 0) return;
  if (dx) gemm_cuda(Trans::kYes, Trans::kNo, f, planes, k, S(1), w, f, dy, planes, S(1), dx, planes);
  const bool sum = mode == ParamGradMode::kSum;
  if (dbias.wanted())
    cuda::segment_sums(dbias.data, dbias.row_stride, int64_t(1), dy, k, planes,
                       sum ? copies : planes, sum ? n : int64_t(1), 1.0, true);
  if (!dw.wanted()) return;
  if (sum) {
    for (int64_t b = 0; b < copies; ++b)
      gemm_cuda(Trans::kNo, Trans::kYes, k, f, n, S(1), dy + b * n, planes, x, n, S(1),
                dw.data + b * dw.row_stride, f);
  } else {
    const int64_t total = planes * k * f;
    auto kern = linear_outer_kernel<S>;
    HNAS_LAUNCH(kern, grid_for(total), kThreads, current_stream())
    (dw.data, dw.row_stride, dy, x, f, k, n, planes, total);
    cuda::check_launch("linear_backward_cuda (per-sample weights)");
  }
}

#define HNAS_INSTANTIATE_GEMM_OPS_CUDA(S)                                                        \
  template void conv2d_forward_cuda<S>(S*, const S*, const S*, const S*, const Shape4&, int64_t,  \
                                       const Conv2dParams&);                                     \
  template void conv2d_backward_cuda<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,         \
                                        const S*, const Shape4&, int64_t, const Conv2dParams&,    \
                                        int64_t, ParamGradMode);                                  \
  template void linear_forward_cuda<S>(S*, const S*, const S*, const S*, int64_t, int64_t,        \
                                       int64_t);                                                 \
  template void linear_backward_cuda<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,         \
                                        const S*, int64_t, int64_t, int64_t, int64_t,             \
                                        ParamGradMode);
HNAS_INSTANTIATE_GEMM_OPS_CUDA(float)
HNAS_INSTANTIATE_GEMM_OPS_CUDA(double)
HNAS_INSTANTIATE_GEMM_OPS_CUDA(Dual<float>)
HNAS_INSTANTIATE_GEMM_OPS_CUDA(Dual<double>)

}  // namespace hnas
