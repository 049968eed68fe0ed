// BatchNorm2d in three modes. In CNHW each channel's N·H·W values are one
// contiguous block, so statistics and the backward reductions stream memory.
// The normalised input x̂ is recomputed in backward from x and the saved
// (mean, 1/σ) instead of being stored.
#include <cmath>
#include <type_traits>

#include "core/dual.h"
#include "core/thread_pool.h"
#include "ops/ops.h"

namespace hnas {

template <typename S>
void batch_norm_forward_cpu(S* y, S* save_mean, S* save_rstd, const S* x, const S* gamma,
                            const S* beta, const S* run_mean, const S* run_var, const Shape4& xs,
                            BnMode mode, double eps) {
  const int64_t m = xs.n * xs.plane();
  if (mode == BnMode::kIdentity) {
    std::copy(x, x + xs.numel(), y);
    return;
  }
  parallel_for(xs.c, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const S* xc = x + c * m;
      S* yc = y + c * m;
      S mean, rstd;
      acc_t<S> mean_acc, rstd_acc;  // the same, unrounded (acc_t)
      if (mode == BnMode::kTrain) {
        // Accumulated in acc_t over 8 independent partial sums, so the loop
        // is not bound by the latency of one long chain of additions. For
        // float data, Σx and Σx² in one pass: in double, E[x²] − E[x]² keeps
        // ~29 more bits than the data has. For double data that formula
        // would cancel, so the variance takes a second pass around the mean.
        using A = acc_t<S>;
        constexpr bool one_pass = std::is_same_v<S, float>;
        A s[8], q[8];
        for (int j = 0; j < 8; ++j) s[j] = q[j] = A(0);
        int64_t i = 0;
        for (; i + 8 <= m; i += 8)
          for (int j = 0; j < 8; ++j) {
            const A v = A(xc[i + j]);
            s[j] += v;
            if constexpr (one_pass) q[j] += v * v;
          }
        for (; i < m; ++i) {
          const A v = A(xc[i]);
          s[0] += v;
          if constexpr (one_pass) q[0] += v * v;
        }
        A sum(0);
        for (int j = 0; j < 8; ++j) sum += s[j];
        const A amean = sum / A(double(m));
        A var(0);
        if constexpr (one_pass) {
          A sq(0);
          for (int j = 0; j < 8; ++j) sq += q[j];
          var = sq / A(double(m)) - amean * amean;
          if (primal(var) < 0) var = A(0);  // rounding on a constant channel
        } else {
          for (int j = 0; j < 8; ++j) q[j] = A(0);
          i = 0;
          for (; i + 8 <= m; i += 8)
            for (int j = 0; j < 8; ++j) {
              const A d = A(xc[i + j]) - amean;
              q[j] += d * d;
            }
          for (; i < m; ++i) {
            const A d = A(xc[i]) - amean;
            q[0] += d * d;
          }
          for (int j = 0; j < 8; ++j) var += q[j];
          var = var / A(double(m));
        }
        mean_acc = amean;
        rstd_acc = A(1.0) / sqrt(var + A(eps));
      } else {
        using A = acc_t<S>;
        mean_acc = A(run_mean[c]);
        rstd_acc = A(1.0) / sqrt(A(run_var[c]) + A(eps));
      }
      mean = S(mean_acc);
      rstd = S(rstd_acc);
      save_mean[c] = mean;
      save_rstd[c] = rstd;
      // The affine map in acc_t too: in float, (x − mean)·scale rounds twice
      // more than needed, and the error compounds through 20+ BN layers.
      using A = acc_t<S>;
      const A amean(mean_acc), ascale = gamma ? A(gamma[c]) * A(rstd_acc) : A(rstd_acc);
      const A ashift = beta ? A(beta[c]) : A(0);
      for (int64_t i = 0; i < m; ++i) yc[i] = S((A(xc[i]) - amean) * ascale + ashift);
    }
  });
}

template <typename S>
void batch_norm_update_running_cpu(S* run_mean, S* run_var, const S* x, const Shape4& xs,
                                   double momentum) {
  using A = acc_t<S>;
  using P = primal_t<A>;
  const int64_t m = xs.n * xs.plane();
  // One channel per task (deterministic whatever the thread count); the mean
  // and the squared deviations around it are summed in acc_t, two passes.
  parallel_for(xs.c, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const S* xc = x + c * m;
      A s(0);
      for (int64_t i = 0; i < m; ++i) s += A(xc[i]);
      const A mean = s / A(P(m));
      A v(0);
      for (int64_t i = 0; i < m; ++i) {
        const A d = A(xc[i]) - mean;
        v += d * d;
      }
      // PyTorch stores the unbiased variance in the running estimate.
      const A unbiased = m > 1 ? v / A(P(m - 1)) : v;
      const A keep = A(P(1 - momentum)), take = A(P(momentum));
      run_mean[c] = S(keep * A(run_mean[c]) + take * mean);
      run_var[c] = S(keep * A(run_var[c]) + take * unbiased);
    }
  });
}

template <typename S>
void batch_norm_backward_cpu(S* dx, GradRows<S> dgamma, GradRows<S> dbeta, const S* dy,
                             const S* x, const S* save_mean, const S* save_rstd, const S* gamma,
                             const Shape4& xs, BnMode mode, int64_t copies, ParamGradMode pmode) {
  using P = primal_t<S>;
  const int64_t plane = xs.plane(), n = xs.n, m = n * plane;
  if (mode == BnMode::kIdentity) {
    if (dx) {
      const int64_t total = xs.c * copies * m;
      parallel_for(total, 1 << 14, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) dx[i] += dy[i];
      });
    }
    return;
  }
  parallel_for(xs.c, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const S* xc = x + c * m;
      const S mean = save_mean[c], rstd = save_rstd[c];
      const S g = gamma ? gamma[c] : S(P(1));
      for (int64_t b = 0; b < copies; ++b) {
        const S* dyc = dy + (c * copies + b) * m;
        S* dxc = dx ? dx + (c * copies + b) * m : nullptr;
        // Parameter gradients: Σ dy·x̂ (γ) and Σ dy (β), per copy or per
        // sample, accumulated in acc_t.
        using A = acc_t<S>;
        const A amean(mean), arstd(rstd);
        A acc_dy(0), acc_dy_xhat(0);
        for (int64_t s = 0; s < n; ++s) {
          A a(0), bsum(0);
          for (int64_t i = s * plane; i < (s + 1) * plane; ++i) {
            bsum += A(dyc[i]);
            a += A(dyc[i]) * ((A(xc[i]) - amean) * arstd);
          }
          acc_dy += bsum;
          acc_dy_xhat += a;
          if (pmode == ParamGradMode::kPerSample) {
            const int64_t row = b * n + s;
            if (dgamma.wanted()) dgamma.data[row * dgamma.row_stride + c] += S(a);
            if (dbeta.wanted()) dbeta.data[row * dbeta.row_stride + c] += S(bsum);
          }
        }
        const S sum_dy(acc_dy), sum_dy_xhat(acc_dy_xhat);
        if (pmode == ParamGradMode::kSum) {
          if (dgamma.wanted()) dgamma.data[b * dgamma.row_stride + c] += sum_dy_xhat;
          if (dbeta.wanted()) dbeta.data[b * dbeta.row_stride + c] += sum_dy;
        }
        if (!dxc) continue;
        const S k = g * rstd;
        if (mode == BnMode::kEval) {
          for (int64_t i = 0; i < m; ++i) dxc[i] += dyc[i] * k;
        } else {
          // Batch statistics couple the samples:
          // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
          const S mdy = sum_dy / S(P(m)), mdyx = sum_dy_xhat / S(P(m));
          for (int64_t i = 0; i < m; ++i) {
            const S xhat = (xc[i] - mean) * rstd;
            dxc[i] += k * (dyc[i] - mdy - xhat * mdyx);
          }
        }
      }
    }
  });
}

#define HNAS_INSTANTIATE_BN(S)                                                                   \
  template void batch_norm_forward_cpu<S>(S*, S*, S*, const S*, const S*, const S*, const S*,    \
                                          const S*, const Shape4&, BnMode, double);              \
  template void batch_norm_update_running_cpu<S>(S*, S*, const S*, const Shape4&, double);      \
  template void batch_norm_backward_cpu<S>(S*, GradRows<S>, GradRows<S>, const S*, const S*,    \
                                           const S*, const S*, const S*, const Shape4&, BnMode, \
                                           int64_t, ParamGradMode);
HNAS_INSTANTIATE_BN(float)
HNAS_INSTANTIATE_BN(double)
HNAS_INSTANTIATE_BN(Dual<float>)
HNAS_INSTANTIATE_BN(Dual<double>)

}  // namespace hnas
