// Average, max and global average pooling, one (channel, sample) plane at a
// time. Backward planes q of dy/dx map to forward plane (c, q mod N).
#include <limits>

#include "core/dual.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {
namespace {

struct PoolGeom {
  int64_t h, w, ho, wo;
};

PoolGeom pool_geometry(const Shape4& xs, const Pool2dParams& p) {
  return {xs.h, xs.w, window_out(xs.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h),
          window_out(xs.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w)};
}

// Window bounds clipped to the input; `count` is the divisor of the average.
struct Window {
  int64_t h0, h1, w0, w1, count;
};

Window avg_window(const PoolGeom& g, const Pool2dParams& p, int64_t oh, int64_t ow) {
  const int64_t hs = oh * p.stride_h - p.pad_t, ws = ow * p.stride_w - p.pad_l;
  // count_include_pad counts the padded window (clipped to input + padding).
  const int64_t he_pad = std::min(hs + p.kh, g.h + p.pad_b);
  const int64_t we_pad = std::min(ws + p.kw, g.w + p.pad_r);
  Window win{std::max<int64_t>(hs, 0), std::min(hs + p.kh, g.h), std::max<int64_t>(ws, 0),
             std::min(ws + p.kw, g.w), 0};
  win.count = p.count_include_pad ? (he_pad - hs) * (we_pad - ws)
                                  : (win.h1 - win.h0) * (win.w1 - win.w0);
  return win;
}

}  // namespace

template <typename S>
void avg_pool2d_forward_cpu(S* y, const S* x, const Shape4& xs, const Pool2dParams& p) {
  using P = primal_t<S>;
  HNAS_CHECK(p.dil_h == 1 && p.dil_w == 1, kUnsupported, "avg_pool2d: dilation is not supported");
  const PoolGeom g = pool_geometry(xs, p);
  parallel_for(xs.c * xs.n, 4, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const S* xp = x + q * g.h * g.w;
      S* yp = y + q * g.ho * g.wo;
      for (int64_t oh = 0; oh < g.ho; ++oh) {
        for (int64_t ow = 0; ow < g.wo; ++ow) {
          const Window win = avg_window(g, p, oh, ow);
          S s(0);
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) s += xp[ih * g.w + iw];
          yp[oh * g.wo + ow] = win.count > 0 ? s / S(P(win.count)) : S(0);
        }
      }
    }
  });
}

template <typename S>
void avg_pool2d_backward_cpu(S* dx, const S* dy, const Shape4& xs, const Pool2dParams& p,
                             int64_t copies) {
  using P = primal_t<S>;
  const PoolGeom g = pool_geometry(xs, p);
  parallel_for(xs.c * copies * xs.n, 4, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      S* dp = dx + q * g.h * g.w;
      const S* dyp = dy + q * g.ho * g.wo;
      for (int64_t oh = 0; oh < g.ho; ++oh) {
        for (int64_t ow = 0; ow < g.wo; ++ow) {
          const Window win = avg_window(g, p, oh, ow);
          if (win.count == 0) continue;
          const S v = dyp[oh * g.wo + ow] / S(P(win.count));
          for (int64_t ih = win.h0; ih < win.h1; ++ih)
            for (int64_t iw = win.w0; iw < win.w1; ++iw) dp[ih * g.w + iw] += v;
        }
      }
    }
  });
}

namespace {
// Index (into the plane) of the window maximum, or -1 if the window holds no
// input element. Ties keep the first maximum in row-major order.
template <typename S>
int64_t argmax_window(const S* xp, const PoolGeom& g, const Pool2dParams& p, int64_t oh,
                      int64_t ow) {
  int64_t best = -1;
  primal_t<S> best_v = -std::numeric_limits<primal_t<S>>::infinity();
  for (int64_t ki = 0; ki < p.kh; ++ki) {
    const int64_t ih = oh * p.stride_h - p.pad_t + ki * p.dil_h;
    if (ih < 0 || ih >= g.h) continue;
    for (int64_t kj = 0; kj < p.kw; ++kj) {
      const int64_t iw = ow * p.stride_w - p.pad_l + kj * p.dil_w;
      if (iw < 0 || iw >= g.w) continue;
      const auto v = primal(xp[ih * g.w + iw]);
      if (best < 0 || v > best_v) {
        best = ih * g.w + iw;
        best_v = v;
      }
    }
  }
  return best;
}
}  // namespace

template <typename S>
void max_pool2d_forward_cpu(S* y, const S* x, const Shape4& xs, const Pool2dParams& p) {
  const PoolGeom g = pool_geometry(xs, p);
  parallel_for(xs.c * xs.n, 4, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const S* xp = x + q * g.h * g.w;
      S* yp = y + q * g.ho * g.wo;
      for (int64_t oh = 0; oh < g.ho; ++oh)
        for (int64_t ow = 0; ow < g.wo; ++ow) {
          const int64_t a = argmax_window(xp, g, p, oh, ow);
          yp[oh * g.wo + ow] = a >= 0 ? xp[a] : S(0);
        }
    }
  });
}

template <typename S>
void max_pool2d_backward_cpu(S* dx, const S* dy, const S* x, const Shape4& xs,
                             const Pool2dParams& p, int64_t copies) {
  const PoolGeom g = pool_geometry(xs, p);
  const int64_t planes = copies * xs.n;
  parallel_for(xs.c * planes, 4, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t c = q / planes, s = q % xs.n;
      const S* xp = x + (c * xs.n + s) * g.h * g.w;
      S* dp = dx + q * g.h * g.w;
      const S* dyp = dy + q * g.ho * g.wo;
      for (int64_t oh = 0; oh < g.ho; ++oh)
        for (int64_t ow = 0; ow < g.wo; ++ow) {
          const int64_t a = argmax_window(xp, g, p, oh, ow);
          if (a >= 0) dp[a] += dyp[oh * g.wo + ow];
        }
    }
  });
}

template <typename S>
void global_avg_pool_forward_cpu(S* y, const S* x, const Shape4& xs) {
  using P = primal_t<S>;
  const int64_t plane = xs.plane();
  parallel_for(xs.c * xs.n, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      S s(0);
      for (int64_t i = 0; i < plane; ++i) s += x[q * plane + i];
      y[q] = s / S(P(plane));
    }
  });
}

template <typename S>
void global_avg_pool_backward_cpu(S* dx, const S* dy, const Shape4& xs, int64_t copies) {
  using P = primal_t<S>;
  const int64_t plane = xs.plane();
  parallel_for(xs.c * copies * xs.n, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const S v = dy[q] / S(P(plane));
      for (int64_t i = 0; i < plane; ++i) dx[q * plane + i] += v;
    }
  });
}

#define HNAS_INSTANTIATE_POOL(S)                                                                  \
  template void avg_pool2d_forward_cpu<S>(S*, const S*, const Shape4&, const Pool2dParams&);     \
  template void avg_pool2d_backward_cpu<S>(S*, const S*, const Shape4&, const Pool2dParams&,     \
                                           int64_t);                                             \
  template void max_pool2d_forward_cpu<S>(S*, const S*, const Shape4&, const Pool2dParams&);     \
  template void max_pool2d_backward_cpu<S>(S*, const S*, const S*, const Shape4&,                \
                                           const Pool2dParams&, int64_t);                        \
  template void global_avg_pool_forward_cpu<S>(S*, const S*, const Shape4&);                     \
  template void global_avg_pool_backward_cpu<S>(S*, const S*, const Shape4&, int64_t);
HNAS_INSTANTIATE_POOL(float)
HNAS_INSTANTIATE_POOL(double)
HNAS_INSTANTIATE_POOL(Dual<float>)
HNAS_INSTANTIATE_POOL(Dual<double>)

}  // namespace hnas
