// Conv2d as im2col + GEMM over the whole batch (CNHW layout makes the batch
// part of the GEMM's N dimension). The im2col buffer is never kept: forward
// and backward rebuild it in sample chunks, which bounds memory and costs one
// memory pass against a GEMM's O(K) work per element.
#include <algorithm>
#include <vector>

#include "core/dual.h"
#include "core/gemm_any.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {

int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pad_begin, int64_t pad_end,
                   int64_t dilation) {
  HNAS_CHECK(k > 0 && stride > 0 && dilation > 0 && pad_begin >= 0 && pad_end >= 0,
             kInvalidArgument, "window op: kernel, stride and dilation must be positive and pads >= 0");
  const int64_t span = dilation * (k - 1) + 1;
  const int64_t out = (in + pad_begin + pad_end - span) / stride + 1;
  HNAS_CHECK(in + pad_begin + pad_end >= span && out > 0, kInvalidArgument,
             "window op: kernel larger than the padded input (" + std::to_string(in) + ")");
  return out;
}

namespace {

constexpr int64_t kColBudget = int64_t(1) << 22;  // elements per im2col chunk

struct ConvGeom {
  int64_t cin, n, h, w, cout, ho, wo, groups, cin_g, cout_g, kg;
  bool pointwise;  // 1x1, stride 1, no padding: col is x itself
};

ConvGeom geometry(const Shape4& xs, int64_t cout, const Conv2dParams& p) {
  ConvGeom g{};
  g.cin = xs.c;
  g.n = xs.n;
  g.h = xs.h;
  g.w = xs.w;
  g.cout = cout;
  g.groups = p.groups;
  HNAS_CHECK(p.groups > 0 && xs.c % p.groups == 0 && cout % p.groups == 0, kInvalidArgument,
             "conv2d: channels not divisible by groups");
  g.ho = window_out(xs.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h);
  g.wo = window_out(xs.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w);
  g.cin_g = xs.c / p.groups;
  g.cout_g = cout / p.groups;
  g.kg = g.cin_g * p.kh * p.kw;
  g.pointwise = p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_t == 0 &&
                p.pad_l == 0 && p.pad_b == 0 && p.pad_r == 0;
  return g;
}

int64_t samples_per_chunk(const ConvGeom& g) {
  return std::max<int64_t>(1, std::min<int64_t>(g.n, kColBudget / std::max<int64_t>(1, g.kg * g.ho * g.wo)));
}

// The output columns ow whose input column iw = ow·stride + base lies in
// [0, w): a contiguous range [lo, hi), so the copy loops need no bounds test.
struct ColRange {
  int64_t lo, hi, base;
};

ColRange valid_columns(int64_t w, int64_t wo, int64_t stride, int64_t base) {
  ColRange r{0, 0, base};
  r.lo = base >= 0 ? 0 : (-base + stride - 1) / stride;
  r.hi = base > w - 1 ? 0 : std::min<int64_t>(wo, (w - 1 - base) / stride + 1);
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

// col[r][(n - n0)·Ho·Wo + ho·Wo + wo] for r = (ci·kh + ki)·kw + kj over the
// channels of group `grp` and samples [n0, n1) of x ([Cin][planes][H][W],
// `planes` = the tensor's batch dimension).
template <typename S>
void im2col(S* col, const S* x, const ConvGeom& g, const Conv2dParams& p, int64_t grp,
            int64_t planes, int64_t n0, int64_t n1) {
  const int64_t nc = n1 - n0, howo = g.ho * g.wo, ld = nc * howo;
  parallel_for(g.kg, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t kj = r % p.kw, ki = (r / p.kw) % p.kh, ci = r / (p.kw * p.kh);
      const S* xc = x + (grp * g.cin_g + ci) * planes * g.h * g.w;
      const ColRange cr = valid_columns(g.w, g.wo, p.stride_w, kj * p.dil_w - p.pad_l);
      S* out = col + r * ld;
      for (int64_t n = n0; n < n1; ++n) {
        const S* xp = xc + n * g.h * g.w;
        S* o = out + (n - n0) * howo;
        for (int64_t oh = 0; oh < g.ho; ++oh) {
          const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
          S* orow = o + oh * g.wo;
          if (ih < 0 || ih >= g.h) {
            std::fill(orow, orow + g.wo, S(0));
            continue;
          }
          const S* xrow = xp + ih * g.w;
          std::fill(orow, orow + cr.lo, S(0));
          if (p.stride_w == 1) {
            // A plain loop: rows are short (W ≤ 32 here), where a memmove call
            // costs more than the copy.
            const S* src = xrow + (cr.base + cr.lo);
            S* dst = orow + cr.lo;
            for (int64_t i = 0, len = cr.hi - cr.lo; i < len; ++i) dst[i] = src[i];
          } else {
            for (int64_t ow = cr.lo; ow < cr.hi; ++ow) orow[ow] = xrow[cr.base + ow * p.stride_w];
          }
          std::fill(orow + cr.hi, orow + g.wo, S(0));
        }
      }
    }
  });
}

// The inverse scatter: dx[channels of grp][planes q0..q1) += col2im(dcol).
// Parallel over input channels so no two threads write the same element.
template <typename S>
void col2im_accumulate(S* dx, const S* dcol, const ConvGeom& g, const Conv2dParams& p,
                       int64_t grp, int64_t planes, int64_t q0, int64_t q1) {
  const int64_t nc = q1 - q0, howo = g.ho * g.wo, ld = nc * howo;
  const int64_t kk = p.kh * p.kw;
  parallel_for(g.cin_g, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ci = c0; ci < c1; ++ci) {
      S* dxc = dx + (grp * g.cin_g + ci) * planes * g.h * g.w;
      for (int64_t k = 0; k < kk; ++k) {
        const int64_t ki = k / p.kw, kj = k % p.kw;
        const ColRange cr = valid_columns(g.w, g.wo, p.stride_w, kj * p.dil_w - p.pad_l);
        const S* in = dcol + (ci * kk + k) * ld;
        for (int64_t q = q0; q < q1; ++q) {
          S* dp = dxc + q * g.h * g.w;
          const S* ip = in + (q - q0) * howo;
          for (int64_t oh = 0; oh < g.ho; ++oh) {
            const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
            if (ih < 0 || ih >= g.h) continue;
            S* drow = dp + ih * g.w;
            const S* irow = ip + oh * g.wo;
            if (p.stride_w == 1) {
              S* d = drow + (cr.base + cr.lo);
              const S* src = irow + cr.lo;
              for (int64_t i = 0, len = cr.hi - cr.lo; i < len; ++i) d[i] += src[i];
            } else {
              for (int64_t ow = cr.lo; ow < cr.hi; ++ow) drow[cr.base + ow * p.stride_w] += irow[ow];
            }
          }
        }
      }
    }
  });
}

// ---- depthwise convolution (one input channel per group) -------------------
// Depthwise layers (DARTS' sep_conv / dil_conv) are matrix-vector products
// per group in im2col form: tiny GEMMs and one parallel region per group. A
// direct loop over whole (channel, sample) planes does the same arithmetic
// with no im2col buffer and one parallel region per layer. Output channel co
// reads input channel co / m (m = channel multiplier, Cout / groups).

bool is_depthwise(const ConvGeom& g) { return g.groups > 1 && g.cin_g == 1; }

template <typename S>
void depthwise_forward(S* y, const S* x, const S* w, const ConvGeom& g, const Conv2dParams& p) {
  const int64_t m = g.cout_g, howo = g.ho * g.wo, hw = g.h * g.w, kk = p.kh * p.kw;
  parallel_for(g.cout * g.n, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t co = t / g.n, s = t % g.n;
      const S* xp = x + ((co / m) * g.n + s) * hw;
      S* yp = y + t * howo;
      std::fill(yp, yp + howo, S(0));
      for (int64_t ki = 0; ki < p.kh; ++ki) {
        for (int64_t kj = 0; kj < p.kw; ++kj) {
          const S wv = w[co * kk + ki * p.kw + kj];
          const ColRange cr = valid_columns(g.w, g.wo, p.stride_w, kj * p.dil_w - p.pad_l);
          for (int64_t oh = 0; oh < g.ho; ++oh) {
            const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
            if (ih < 0 || ih >= g.h) continue;
            const S* xr = xp + ih * g.w + cr.base;
            S* yr = yp + oh * g.wo;
            if (p.stride_w == 1) {
              for (int64_t ow = cr.lo; ow < cr.hi; ++ow) yr[ow] += wv * xr[ow];
            } else {
              for (int64_t ow = cr.lo; ow < cr.hi; ++ow) yr[ow] += wv * xr[ow * p.stride_w];
            }
          }
        }
      }
    }
  });
}

// dx[ci][q] += Σ_j Σ_k w[ci·m + j][k] · (dy[ci·m + j][q] scattered back by tap k):
// one task per (input channel, plane), so no two tasks write one element.
template <typename S>
void depthwise_backward_input(S* dx, const S* dy, const S* w, const ConvGeom& g, const Conv2dParams& p,
                              int64_t planes) {
  const int64_t m = g.cout_g, howo = g.ho * g.wo, hw = g.h * g.w, kk = p.kh * p.kw;
  parallel_for(g.cin * planes, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ci = t / planes, q = t % planes;
      S* dxp = dx + t * hw;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t co = ci * m + j;
        const S* dyp = dy + (co * planes + q) * howo;
        for (int64_t ki = 0; ki < p.kh; ++ki) {
          for (int64_t kj = 0; kj < p.kw; ++kj) {
            const S wv = w[co * kk + ki * p.kw + kj];
            const ColRange cr = valid_columns(g.w, g.wo, p.stride_w, kj * p.dil_w - p.pad_l);
            for (int64_t oh = 0; oh < g.ho; ++oh) {
              const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
              if (ih < 0 || ih >= g.h) continue;
              S* dr = dxp + ih * g.w + cr.base;
              const S* dyr = dyp + oh * g.wo;
              if (p.stride_w == 1) {
                for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dr[ow] += wv * dyr[ow];
              } else {
                for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dr[ow * p.stride_w] += wv * dyr[ow];
              }
            }
          }
        }
      }
    }
  });
}

// Σ_hw dy[co][q] · x[co / m][s] shifted by tap k, for every tap, into acc[kk]
// (acc_t: a plane sum runs over up to N·H·W products).
template <typename S>
void depthwise_tap_sums(acc_t<S>* acc, const S* dyp, const S* xp, const ConvGeom& g, const Conv2dParams& p) {
  using A = acc_t<S>;
  for (int64_t ki = 0; ki < p.kh; ++ki) {
    for (int64_t kj = 0; kj < p.kw; ++kj) {
      const ColRange cr = valid_columns(g.w, g.wo, p.stride_w, kj * p.dil_w - p.pad_l);
      A sum(0);
      for (int64_t oh = 0; oh < g.ho; ++oh) {
        const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
        if (ih < 0 || ih >= g.h) continue;
        const S* xr = xp + ih * g.w + cr.base;
        const S* dyr = dyp + oh * g.wo;
        for (int64_t ow = cr.lo; ow < cr.hi; ++ow) sum += A(dyr[ow]) * A(xr[ow * p.stride_w]);
      }
      acc[ki * p.kw + kj] += sum;
    }
  }
}

template <typename S>
void depthwise_backward_weight(GradRows<S> dw, const S* dy, const S* x, const ConvGeom& g, const Conv2dParams& p,
                               int64_t copies, ParamGradMode mode) {
  using A = acc_t<S>;
  const int64_t m = g.cout_g, howo = g.ho * g.wo, hw = g.h * g.w, kk = p.kh * p.kw, planes = copies * g.n;
  // kSum: one task per (channel, copy) summing the batch; kPerSample: one per (channel, plane).
  const int64_t per = mode == ParamGradMode::kSum ? copies : planes;
  parallel_for(g.cout * per, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> acc(static_cast<size_t>(kk));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t co = t / per, r = t % per;
      std::fill(acc.begin(), acc.end(), A(0));
      const int64_t q0 = mode == ParamGradMode::kSum ? r * g.n : r;
      const int64_t q1 = mode == ParamGradMode::kSum ? q0 + g.n : r + 1;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t s = q % g.n;
        depthwise_tap_sums(acc.data(), dy + (co * planes + q) * howo, x + ((co / m) * g.n + s) * hw, g, p);
      }
      S* row = dw.data + r * dw.row_stride + co * kk;
      for (int64_t k = 0; k < kk; ++k) row[k] += S(acc[k]);
    }
  });
}

}  // namespace

template <typename S>
void conv2d_forward_cpu(S* y, const S* x, const S* w, const S* bias, const Shape4& xs,
                        int64_t cout, const Conv2dParams& p) {
  const ConvGeom g = geometry(xs, cout, p);
  const int64_t howo = g.ho * g.wo, ld_y = g.n * howo;
  const int64_t chunk = samples_per_chunk(g);
  PoolVector<S> col;
  const int64_t im2col_groups = is_depthwise(g) ? 0 : g.groups;
  if (is_depthwise(g)) depthwise_forward(y, x, w, g, p);
  for (int64_t grp = 0; grp < im2col_groups; ++grp) {
    const S* wg = w + grp * g.cout_g * g.kg;
    S* yg = y + grp * g.cout_g * ld_y;
    if (g.pointwise) {
      // x's channel rows are already the im2col matrix.
      gemm_any(Trans::kNo, Trans::kNo, g.cout_g, ld_y, g.kg, S(1), wg, g.kg,
               x + grp * g.cin_g * ld_y, ld_y, S(0), yg, ld_y);
      continue;
    }
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t n1 = std::min(g.n, n0 + chunk), cols = (n1 - n0) * howo;
      col.resize(checked_size(g.kg * cols, "conv2d im2col"));
      im2col(col.data(), x, g, p, grp, g.n, n0, n1);
      gemm_any(Trans::kNo, Trans::kNo, g.cout_g, cols, g.kg, S(1), wg, g.kg, col.data(), cols,
               S(0), yg + n0 * howo, ld_y);
    }
  }
  if (bias) {
    parallel_for(g.cout, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        S* yc = y + c * ld_y;
        for (int64_t i = 0; i < ld_y; ++i) yc[i] += bias[c];
      }
    });
  }
}

template <typename S>
void conv2d_backward_cpu(S* dx, GradRows<S> dw, GradRows<S> dbias, const S* dy, const S* x,
                         const S* w, const Shape4& xs, int64_t cout, const Conv2dParams& p,
                         int64_t copies, ParamGradMode mode) {
  const ConvGeom g = geometry(xs, cout, p);
  const int64_t howo = g.ho * g.wo;
  const int64_t planes = copies * g.n;           // planes of dy and dx
  const int64_t ld_dy = planes * howo;           // row stride of dy's channels
  const int64_t ld_x = g.n * g.h * g.w;          // row stride of x's channels

  // Input gradient: dcol = W_gᵀ · dy_g, scattered back by col2im.
  if (dx && is_depthwise(g)) {
    depthwise_backward_input(dx, dy, w, g, p, planes);
  } else if (dx) {
    const int64_t qchunk = std::max<int64_t>(1, std::min<int64_t>(planes, kColBudget / std::max<int64_t>(1, g.kg * howo)));
    PoolVector<S> dcol;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const S* wg = w + grp * g.cout_g * g.kg;
      const S* dyg = dy + grp * g.cout_g * ld_dy;
      if (g.pointwise) {
        gemm_any(Trans::kYes, Trans::kNo, g.kg, ld_dy, g.cout_g, S(1), wg, g.kg, dyg, ld_dy, S(1),
                 dx + grp * g.cin_g * ld_dy, ld_dy);
        continue;
      }
      for (int64_t q0 = 0; q0 < planes; q0 += qchunk) {
        const int64_t q1 = std::min(planes, q0 + qchunk), cols = (q1 - q0) * howo;
        dcol.resize(checked_size(g.kg * cols, "conv2d col2im"));
        gemm_any(Trans::kYes, Trans::kNo, g.kg, cols, g.cout_g, S(1), wg, g.kg, dyg + q0 * howo,
                 ld_dy, S(0), dcol.data(), cols);
        col2im_accumulate(dx, dcol.data(), g, p, grp, planes, q0, q1);
      }
    }
  }

  // Bias gradient: sums of dy over the spatial plane (and the batch in kSum).
  if (dbias.wanted()) {
    parallel_for(g.cout, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t q = 0; q < planes; ++q) {
          const S* d = dy + c * ld_dy + q * howo;
          S s(0);
          for (int64_t i = 0; i < howo; ++i) s += d[i];
          const int64_t row = mode == ParamGradMode::kSum ? q / g.n : q;
          dbias.data[row * dbias.row_stride + c] += s;
        }
      }
    });
  }

  if (!dw.wanted()) return;
  if (is_depthwise(g)) {
    depthwise_backward_weight(dw, dy, x, g, p, copies, mode);
    return;
  }
  const int64_t chunk = samples_per_chunk(g);
  PoolVector<S> col;
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
        col.resize(checked_size(g.kg * cols, "conv2d im2col"));
        im2col(col.data(), x, g, p, grp, g.n, n0, n1);
        colp = col.data();
        ld_col = cols;
      }
      if (mode == ParamGradMode::kSum) {
        // One row per copy: dW_b += dy_b · colᵀ over this sample chunk.
        for (int64_t b = 0; b < copies; ++b) {
          gemm_any(Trans::kNo, Trans::kYes, g.cout_g, g.kg, cols, S(1),
                   dyg + (b * g.n + n0) * howo, ld_dy, colp, ld_col, S(1),
                   dw.data + b * dw.row_stride + woff, g.kg);
        }
      } else {
        // One row per (copy, sample): many small GEMMs, spread over threads
        // (each runs single-threaded inside the parallel region).
        const int64_t pairs = copies * (n1 - n0);
        parallel_for(pairs, 1, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / (n1 - n0), n = n0 + i % (n1 - n0);
            gemm_any(Trans::kNo, Trans::kYes, g.cout_g, g.kg, howo, S(1),
                     dyg + (b * g.n + n) * howo, ld_dy, colp + (n - n0) * howo, ld_col, S(1),
                     dw.data + (b * g.n + n) * dw.row_stride + woff, g.kg);
          }
        });
      }
    }
  }
}

#define HNAS_INSTANTIATE_CONV(S)                                                              \
  template void conv2d_forward_cpu<S>(S*, const S*, const S*, const S*, const Shape4&, int64_t, \
                                      const Conv2dParams&);                                   \
  template void conv2d_backward_cpu<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,      \
                                       const S*, const Shape4&, int64_t, const Conv2dParams&, \
                                       int64_t, ParamGradMode);
HNAS_INSTANTIATE_CONV(float)
HNAS_INSTANTIATE_CONV(double)
HNAS_INSTANTIATE_CONV(Dual<float>)
HNAS_INSTANTIATE_CONV(Dual<double>)

}  // namespace hnas
