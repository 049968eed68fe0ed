// What the CPU engine (engine.cpp) and the device engine
// (cuda/device_engine.cpp) share, all on the host: layout conversion at the
// boundary, the cross-entropy (with label smoothing and loss heads) and the
// cotangents fed to a backward pass (the logits are [K][N], small next to the
// network), the sample-major reordering of "all outputs" results, and the
// NASWOT code kernel.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/dual.h"
#include "core/gemm.h"
#include "core/thread_pool.h"
#include "core/tensor.h"
#include "engine/engine.h"
#include "engine/graph.h"

namespace hnas {
namespace objective {

// ---- layout conversions at the boundary ------------------------------------

template <typename S, typename T>
void nchw_to_cnhw(S* out, const T* in, const Shape4& s) {
  const int64_t plane = s.plane();
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < plane; ++i) out[(c * s.n + n) * plane + i] = S(in[(n * s.c + c) * plane + i]);
}

// A CNHW tensor (an input gradient) back to the boundary's NCHW.
template <typename T>
PoolVector<T> cnhw_to_nchw(const Tensor<T>& t) {
  const Shape4 s = t.shape;
  PoolVector<T> out(static_cast<size_t>(s.numel()));
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t i = 0; i < s.n; ++i)
      for (int64_t j = 0; j < s.plane(); ++j) out[(i * s.c + c) * s.plane() + j] = t.data[(c * s.n + i) * s.plane() + j];
  return out;
}

template <typename S>
PoolVector<primal_t<S>> logits_nk(const Tensor<S>& out) {
  const int64_t k = out.shape.c, n = out.shape.n;
  PoolVector<primal_t<S>> r(static_cast<size_t>(n * k));
  for (int64_t c = 0; c < k; ++c)
    for (int64_t i = 0; i < n; ++i) r[i * k + c] = primal(out.data[c * n + i]);
  return r;
}

// ---- cross-entropy --------------------------------------------------------

// ∂CE(f(x_i), q_i)/∂f(x_i) = softmax(f(x_i)) − q_i over the output columns
// [c0, c0 + k) with the targets q_i = (1 − ε)·onehot(y_i) + ε/k (ε = 0: the
// plain one-hot), for any scalar (Dual included: the tangent flows through
// exp and the normalisation). k = 0: every column.
template <typename S>
std::vector<S> ce_gradient(const Tensor<S>& out, const int32_t* labels, int64_t i, double smoothing = 0,
                           int64_t c0 = 0, int64_t k = 0) {
  using P = primal_t<S>;
  const int64_t n = out.shape.n;
  if (k == 0) k = out.shape.c - c0;
  const S* f = out.data.data() + c0 * n;
  P mx = primal(f[i]);
  for (int64_t c = 1; c < k; ++c) mx = std::max(mx, primal(f[c * n + i]));
  std::vector<S> e(static_cast<size_t>(k));
  S z(0);
  for (int64_t c = 0; c < k; ++c) {
    e[c] = exp(f[c * n + i] - S(mx));
    z += e[c];
  }
  const double off = smoothing / double(k), on = 1 - smoothing + off;
  for (int64_t c = 0; c < k; ++c) e[c] = e[c] / z - S(P(c == labels[i] ? on : off));
  return e;
}

// Mean over the batch of −Σ_k q_k log softmax(f)_k = lse(f) − Σ_k q_k f_k over
// the columns [c0, c0 + k) (k = 0: every column), in double.
template <typename S>
double mean_ce_loss(const Tensor<S>& out, const int32_t* labels, double smoothing = 0, int64_t c0 = 0,
                    int64_t k = 0) {
  const int64_t n = out.shape.n;
  if (k == 0) k = out.shape.c - c0;
  const S* f = out.data.data() + c0 * n;
  const double off = smoothing / double(k), on = 1 - smoothing + off;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    double mx = primal(f[i]);
    for (int64_t c = 1; c < k; ++c) mx = std::max(mx, double(primal(f[c * n + i])));
    double z = 0, target = 0;
    for (int64_t c = 0; c < k; ++c) {
      const double x = double(primal(f[c * n + i]));
      z += std::exp(x - mx);
      target += (c == labels[i] ? on : off) * x;
    }
    total += std::log(z) + mx - target;
  }
  return total / double(n);
}

// Σ_h weight_h · mean CE of head h (no heads: the plain mean CE).
template <typename S>
double mean_heads_loss(const Tensor<S>& out, const int32_t* labels, double smoothing,
                       const std::vector<LossHead>& heads) {
  if (heads.empty()) return mean_ce_loss(out, labels, smoothing);
  double total = 0;
  for (const LossHead& h : heads) total += h.weight * mean_ce_loss(out, labels, smoothing, h.offset, h.count);
  return total;
}

// The selected outputs' weights for sample i: v_k with f = Σ_k v_k f_k(x_i).
template <typename S>
std::vector<S> output_weights(OutputSelect sel, const Tensor<S>& out, const int32_t* labels, int64_t i,
                              double smoothing = 0, const std::vector<LossHead>* heads = nullptr) {
  using P = primal_t<S>;
  const int64_t k = out.shape.c;
  std::vector<S> v(static_cast<size_t>(k), S(0));
  // The loss gradient: one head over every output, or the weighted heads.
  auto loss_weights = [&]() {
    if (!heads || heads->empty()) {
      v = ce_gradient(out, labels, i, smoothing);
      return;
    }
    for (const LossHead& h : *heads) {
      const std::vector<S> g = ce_gradient(out, labels, i, smoothing, h.offset, h.count);
      for (int64_t c = 0; c < h.count; ++c) v[h.offset + c] += S(P(h.weight)) * g[c];
    }
  };
  switch (sel) {
    case OutputSelect::kTrueClass: v[labels[i]] = S(P(1)); break;
    case OutputSelect::kSum: std::fill(v.begin(), v.end(), S(P(1))); break;
    case OutputSelect::kLoss: loss_weights(); break;
    case OutputSelect::kMeanLoss:
      loss_weights();
      for (S& x : v) x = x / S(P(out.shape.n));
      break;
    case OutputSelect::kAll: fail(ErrorCode::kInternal, "output_weights: kAll has no single row");
  }
  return v;
}

// Cotangent with one copy per class (kAll) or a single copy, every sample set:
// what one backward of the summed outputs needs.
template <typename S>
Tensor<S> summed_cotangent(OutputSelect sel, const Tensor<S>& out, const int32_t* labels, double smoothing = 0,
                           const std::vector<LossHead>* heads = nullptr) {
  using P = primal_t<S>;
  const int64_t k = out.shape.c, n = out.shape.n;
  const int64_t copies = sel == OutputSelect::kAll ? k : 1;
  Tensor<S> cot(Shape4{k, copies * n, 1, 1});
  for (int64_t i = 0; i < n; ++i) {
    if (sel == OutputSelect::kAll) {
      for (int64_t b = 0; b < k; ++b) cot.data[b * copies * n + b * n + i] = S(P(1));
    } else {
      const std::vector<S> v = output_weights(sel, out, labels, i, smoothing, heads);
      for (int64_t c = 0; c < k; ++c) cot.data[c * n + i] = v[c];
    }
  }
  return cot;
}

// Cotangents of rows [r0, r1) for exact per-sample gradients: copy r − r0 is
// non-zero only in sample i(r)'s column.
template <typename S>
Tensor<S> row_cotangents(OutputSelect sel, const Tensor<S>& out, const int32_t* labels, int64_t r0,
                         int64_t r1) {
  using P = primal_t<S>;
  const int64_t k = out.shape.c, n = out.shape.n, copies = r1 - r0;
  Tensor<S> cot(Shape4{k, copies * n, 1, 1});
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r - r0;
    if (sel == OutputSelect::kAll) {
      const int64_t i = r / k, c = r % k;
      cot.data[c * copies * n + b * n + i] = S(P(1));
    } else {
      const std::vector<S> v = output_weights(sel, out, labels, r);
      for (int64_t c = 0; c < k; ++c) cot.data[c * copies * n + b * n + r] = v[c];
    }
  }
  return cot;
}

// Decomposed kAll rows come class-major (b·N + i); reorder to i·K + b.
template <typename Vec>
void to_sample_major(Vec& m, int64_t k, int64_t n, int64_t cols) {
  Vec out(m.size());
  for (int64_t b = 0; b < k; ++b)
    for (int64_t i = 0; i < n; ++i)
      std::copy(m.begin() + (b * n + i) * cols, m.begin() + (b * n + i + 1) * cols, out.begin() + (i * k + b) * cols);
  m.swap(out);
}

// Θ of class-major rows (b·N + i) reordered to sample-major (i·K + b), rows
// and columns both.
inline void theta_to_sample_major(PoolVector<double>& theta, int64_t k, int64_t n) {
  const int64_t rows = k * n;
  to_sample_major(theta, k, n, rows);
  PoolVector<double> t(theta.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) t[j * rows + i] = theta[i * rows + j];
  to_sample_major(t, k, n, rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) theta[j * rows + i] = t[i * rows + j];
}

// ---- NASWOT kernel ---------------------------------------------------------

// K = c cᵀ + (1−c)(1−c)ᵀ of the binary codes c = (x > 0) of x (CNHW), as
// K = (D + S Sᵀ)/2 with the N×D sign matrix S = 2c − 1. S Sᵀ is a float GEMM
// over column blocks of at most 2^24 units, so every partial sum is an
// integer float holds exactly; blocks are summed in double.
template <typename T>
PoolVector<double> relu_code_kernel(const Tensor<T>& x) {
  const int64_t n = x.shape.n, plane = x.shape.plane(), d = x.shape.c * plane;
  const int64_t exact_limit = int64_t(1) << 24;
  const int64_t budget = int64_t(1) << 24;  // floats in one sign block (64 MiB)
  const int64_t width = std::max<int64_t>(1, std::min({d, exact_limit, budget / n}));
  PoolVector<float> s(checked_size(n * width, "NASWOT sign matrix"));
  PoolVector<float> gram(checked_size(n * n, "NASWOT kernel"));
  PoolVector<double> k(static_cast<size_t>(n * n), 0.0);
  for (int64_t d0 = 0; d0 < d; d0 += width) {
    const int64_t w = std::min(width, d - d0);
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* row = s.data() + i * w;
        for (int64_t j = 0; j < w;) {
          const int64_t unit = d0 + j, ch = unit / plane, p0 = unit % plane;
          const int64_t len = std::min(plane - p0, w - j);
          const T* src = x.ptr() + (ch * n + i) * plane + p0;
          for (int64_t q = 0; q < len; ++q) row[j + q] = src[q] > T(0) ? 1.0f : -1.0f;
          j += len;
        }
      }
    });
    gemm(Trans::kNo, Trans::kYes, n, n, w, 1.0f, s.data(), w, s.data(), w, 0.0f, gram.data(), n);
    for (int64_t i = 0; i < n * n; ++i) k[i] += double(gram[i]);
  }
  for (int64_t i = 0; i < n * n; ++i) k[i] = (double(d) + k[i]) * 0.5;
  return k;
}


// ---- exact per-sample gradients ----------------------------------------------

// Cotangent rows per backward pass in exact mode: the request's, or what keeps
// about six gradient tensors of the largest value within 1.5 GiB; at most rows.
inline int64_t exact_chunk(const Graph& g, int64_t requested, int64_t n, int64_t rows, int64_t scalar_bytes) {
  int64_t chunk = requested;
  if (chunk <= 0) {
    int64_t largest = 0;
    for (const ValueInfo& v : g.values()) largest = std::max(largest, v.shape.numel());
    const int64_t per_copy = 6 * largest * n * scalar_bytes;
    const int64_t budget = int64_t(1536) << 20;
    chunk = std::max<int64_t>(1, budget / std::max<int64_t>(1, per_copy));
  }
  return std::min(chunk, rows);
}

// ---- NASWOT kernel bookkeeping --------------------------------------------

// Which tensors the kernel is taken over: the distinct inputs of the Relu
// nodes, in order of first appearance, each weighted by the nodes reading the
// Relu nodes' outputs (the graph output counts as a reader; a Relu nobody
// reads still counts once), summed over the Relu nodes sharing that input.
struct ReluKernelPlan {
  std::vector<int> inputs;
  std::vector<int64_t> weights;
  int64_t relu_nodes = 0;
};

inline ReluKernelPlan plan_relu_kernel(const Graph& g) {
  std::vector<int> readers(g.values().size(), 0);
  for (const Node& node : g.nodes()) {
    std::vector<int> seen;
    for (int v : node.inputs)
      if (std::find(seen.begin(), seen.end(), v) == seen.end()) {
        seen.push_back(v);
        ++readers[v];
      }
  }
  ++readers[g.output_value()];
  ReluKernelPlan plan;
  for (const Node& node : g.nodes()) {
    if (node.op != OpKind::kRelu) continue;
    ++plan.relu_nodes;
    const int v = node.inputs[0];
    const int64_t w = std::max(1, readers[node.output]);
    auto it = std::find(plan.inputs.begin(), plan.inputs.end(), v);
    if (it == plan.inputs.end()) {
      plan.inputs.push_back(v);
      plan.weights.push_back(w);
    } else {
      plan.weights[it - plan.inputs.begin()] += w;
    }
  }
  return plan;
}

inline ReluKernelResult empty_relu_kernel(const ReluKernelPlan& plan, int64_t n) {
  ReluKernelResult r;
  r.n = n;
  r.relu_nodes = plan.relu_nodes;
  r.distinct_inputs = static_cast<int64_t>(plan.inputs.size());
  r.weighted.assign(static_cast<size_t>(n * n), 0.0);
  r.distinct.assign(static_cast<size_t>(n * n), 0.0);
  return r;
}

// Adds the kernel of one ReLU input tensor x (host, CNHW) with its weight.
template <typename T>
void add_relu_kernel(ReluKernelResult& r, const Tensor<T>& x, int64_t weight) {
  const int64_t n = r.n, d = x.shape.c * x.shape.plane();
  const PoolVector<double> k = relu_code_kernel(x);
  const double w = double(weight);
  for (int64_t i = 0; i < n * n; ++i) {
    r.weighted[i] += w * k[i];
    r.distinct[i] += k[i];
  }
  r.relu_modules += weight;
  r.units_per_sample += weight * d;
  r.distinct_units_per_sample += d;
}

// ---- per-layer fisher ------------------------------------------------------

// zero-cost-nas' fisher score of one Conv2d / Linear layer from its output a
// and the loss gradient dy at it (host, CNHW): s_nk = Σ_hw a·δ,
// F_k = ½·mean_n s_nk², score = Σ_k F_k · (weight size / C_out).
template <typename T>
double fisher_layer_score(const Tensor<T>& a, const Tensor<T>& dy, int64_t weight_size, const std::string& label) {
  const int64_t c = a.shape.c, n = a.shape.n, plane = a.shape.plane();
  HNAS_CHECK(dy.shape.c == c && dy.shape.n == n && dy.shape.plane() == plane, kInternal,
             "fisher: gradient of " + label + " does not match its output");
  std::vector<double> f(static_cast<size_t>(c), 0.0);
  parallel_for(c, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      double sum_sq = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T* ap = a.ptr() + (ch * n + i) * plane;
        const T* dp = dy.ptr() + (ch * n + i) * plane;
        double s = 0;
        for (int64_t q = 0; q < plane; ++q) s += double(ap[q]) * double(dp[q]);
        sum_sq += s * s;
      }
      f[ch] = 0.5 * sum_sq / double(n);
    }
  });
  // F_k is broadcast over the weights of output channel k: C_in/groups·kh·kw
  // of them for a conv, in-features for a linear layer.
  const double per_channel = double(weight_size) / double(c);
  double score = 0;
  for (double v : f) score += v;
  return score * per_channel;
}

// The Conv2d / Linear nodes with a weight, in graph order: the layers fisher scores.
inline std::vector<int> fisher_layers(const Graph& g) {
  std::vector<int> nodes;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& node = g.nodes()[i];
    if ((node.op == OpKind::kConv2d || node.op == OpKind::kLinear) && node.weight >= 0)
      nodes.push_back(static_cast<int>(i));
  }
  return nodes;
}

// ---- Hessian-vector products (forward-over-reverse) ------------------------

// The parameters as dual numbers, with tangent v on the selected parameters
// (v concatenated in selection order, validated by the caller): the tangent
// of the loss gradient is then H·v.
template <typename T>
std::vector<Dual<T>> tangent_seeded_params(const Graph& g, const std::vector<T>& params, const std::vector<int>& sel,
                                           const T* v) {
  std::vector<Dual<T>> seeded(params.begin(), params.end());
  int64_t off = 0;
  for (int p : sel) {
    const ParamInfo& info = g.params()[p];
    for (int64_t i = 0; i < info.size; ++i) seeded[info.offset + i].d = v[off + i];
    off += info.size;
  }
  return seeded;
}

// Which parameters a Hessian-vector product differentiates: the selection.
inline std::vector<bool> selected_params(const Graph& g, const std::vector<int>& sel) {
  std::vector<bool> wanted(g.params().size(), false);
  for (int p : sel) wanted[p] = true;
  return wanted;
}

// The selected entries of a full dual gradient: ∂L/∂θ from the primal parts,
// H·v from the tangents, in selection order.
template <typename T>
HvpResult<T> hvp_from_dual_gradient(const Graph& g, const std::vector<int>& sel, const Dual<T>* grad, double loss) {
  HvpResult<T> r;
  r.loss = loss;
  int64_t total = 0;
  for (int p : sel) total += g.params()[p].size;
  r.grad.reserve(static_cast<size_t>(total));
  r.hvp.reserve(static_cast<size_t>(total));
  for (int p : sel) {
    const ParamInfo& info = g.params()[p];
    for (int64_t i = 0; i < info.size; ++i) {
      r.grad.push_back(grad[info.offset + i].v);
      r.hvp.push_back(grad[info.offset + i].d);
    }
  }
  return r;
}

}  // namespace objective
}  // namespace hnas
