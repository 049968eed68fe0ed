#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/dual.h"
#include "core/gemm.h"
#include "core/thread_pool.h"

namespace hnas {
namespace {

// ---- layout conversions at the boundary ------------------------------------

template <typename S, typename T>
void nchw_to_cnhw(S* out, const T* in, const Shape4& s) {
  const int64_t plane = s.plane();
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < plane; ++i) out[(c * s.n + n) * plane + i] = S(in[(n * s.c + c) * plane + i]);
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

// ---- parameter sinks --------------------------------------------------------

// Every row of every wanted parameter in one [R][P_total] matrix.
template <typename S>
class FullGradSink : public ParamSink<S> {
 public:
  FullGradSink(const Graph& g, std::vector<bool> wanted, int64_t rows)
      : g_(g), wanted_(std::move(wanted)), data_(checked_size(rows * g.total_param_size(), "gradient"), S(0)) {}
  bool wants(int p) const override { return wanted_[p]; }
  GradRows<S> rows(int p) override { return {data_.data() + g_.params()[p].offset, g_.total_param_size()}; }
  PoolVector<S>& data() { return data_; }

 private:
  const Graph& g_;
  std::vector<bool> wanted_;
  PoolVector<S> data_;
};

// Columns of the selected parameters, in selection order: J[R][P_sel].
template <typename T>
class JacobianSink : public ParamSink<T> {
 public:
  JacobianSink(const Graph& g, const std::vector<int>& sel, int64_t rows) : col_(g.params().size(), -1) {
    for (int p : sel) {
      col_[p] = cols_;
      cols_ += g.params()[p].size;
    }
    data_.assign(checked_size(rows * cols_, "Jacobian"), T(0));
  }
  bool wants(int p) const override { return col_[p] >= 0; }
  GradRows<T> rows(int p) override { return {data_.data() + row0_ * cols_ + col_[p], cols_}; }
  void set_first_row(int64_t r) { row0_ = r; }
  int64_t cols() const { return cols_; }
  PoolVector<T>& data() { return data_; }

 private:
  std::vector<int64_t> col_;
  int64_t cols_ = 0, row0_ = 0;
  PoolVector<T> data_;
};

// Θ += G_p G_pᵀ for each parameter as soon as its rows are final, in float64;
// the rows are then dropped, so J is never held whole.
template <typename T>
class ThetaSink : public ParamSink<T> {
 public:
  ThetaSink(const Graph& g, const std::vector<int>& sel, int64_t rows)
      : g_(g), wanted_(g.params().size(), false), buffers_(g.params().size()), rows_(rows),
        theta_(checked_size(rows * rows, "NTK"), 0.0) {
    for (int p : sel) wanted_[p] = true;
  }
  bool wants(int p) const override { return wanted_[p]; }
  GradRows<T> rows(int p) override {
    auto& b = buffers_[p];
    if (b.empty()) b.assign(checked_size(rows_ * g_.params()[p].size, "NTK rows"), T(0));
    return {b.data(), g_.params()[p].size};
  }
  void complete(int p) override {
    auto& b = buffers_[p];
    const int64_t size = g_.params()[p].size;
    if constexpr (std::is_same_v<T, double>) {
      gemm(Trans::kNo, Trans::kYes, rows_, rows_, size, 1.0, b.data(), size, b.data(), size, 1.0,
           theta_.data(), rows_);
    } else {
      PoolVector<double> d(b.begin(), b.end());
      gemm(Trans::kNo, Trans::kYes, rows_, rows_, size, 1.0, d.data(), size, d.data(), size, 1.0,
           theta_.data(), rows_);
    }
    PoolVector<T>().swap(b);
  }
  PoolVector<double>& theta() { return theta_; }

 private:
  const Graph& g_;
  std::vector<bool> wanted_;
  std::vector<PoolVector<T>> buffers_;
  int64_t rows_;
  PoolVector<double> theta_;
};

// Θ = J Jᵀ in float64, converting J a block of columns at a time.
template <typename T>
PoolVector<double> theta_from_jacobian(const PoolVector<T>& J, int64_t rows, int64_t cols) {
  PoolVector<double> theta(checked_size(rows * rows, "NTK"), 0.0);
  const int64_t block = 1 << 16;
  PoolVector<double> buf;
  for (int64_t c0 = 0; c0 < cols; c0 += block) {
    const int64_t w = std::min(block, cols - c0);
    buf.resize(static_cast<size_t>(rows * w));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < w; ++j) buf[r * w + j] = double(J[r * cols + c0 + j]);
    gemm(Trans::kNo, Trans::kYes, rows, rows, w, 1.0, buf.data(), w, buf.data(), w, 1.0, theta.data(), rows);
  }
  return theta;
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

// ---- per-layer fisher --------------------------------------------------------

// Wants no parameter gradient; observes every Conv2d / Linear output and
// folds a·δ into that layer's score as soon as δ is final.
template <typename T>
class FisherSink : public ParamSink<T> {
 public:
  FisherSink(const Graph& g, const ForwardState<T>& st) : g_(g), st_(st), layer_of_(g.nodes().size(), -1) {
    for (size_t i = 0; i < g.nodes().size(); ++i) {
      const Node& node = g.nodes()[i];
      if ((node.op == OpKind::kConv2d || node.op == OpKind::kLinear) && node.weight >= 0) {
        layer_of_[i] = static_cast<int>(nodes_.size());
        nodes_.push_back(static_cast<int>(i));
      }
    }
    scores_.assign(nodes_.size(), 0.0);
  }
  bool wants(int) const override { return false; }
  GradRows<T> rows(int) override { return {}; }
  bool observes(int node) const override { return layer_of_[node] >= 0; }
  void output_grad(int node, const Tensor<T>& dy) override {
    const Node& nd = g_.nodes()[node];
    const Tensor<T>& a = st_.values[nd.output];
    const int64_t c = a.shape.c, n = a.shape.n, plane = a.shape.plane();
    HNAS_CHECK(dy.shape.c == c && dy.shape.n == n && dy.shape.plane() == plane, kInternal,
               "fisher: gradient of " + nd.label() + " does not match its output");
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
    const double per_channel = double(g_.params()[nd.weight].size) / double(c);
    double score = 0;
    for (double v : f) score += v;
    scores_[layer_of_[node]] = score * per_channel;
  }
  const std::vector<int>& nodes() const { return nodes_; }
  const std::vector<double>& scores() const { return scores_; }

 private:
  const Graph& g_;
  const ForwardState<T>& st_;
  std::vector<int> layer_of_;
  std::vector<int> nodes_;
  std::vector<double> scores_;
};

int64_t largest_value(const Graph& g) {
  int64_t m = 0;
  for (const ValueInfo& v : g.values()) m = std::max(m, v.shape.numel());
  return m;
}

}  // namespace

template <typename T>
Engine<T>::Engine(std::shared_ptr<const Graph> graph, std::vector<T> params) : graph_(std::move(graph)) {
  set_params(std::move(params));
}

template <typename T>
void Engine<T>::set_params(std::vector<T> params) {
  HNAS_CHECK(static_cast<int64_t>(params.size()) == graph_->total_param_size(), kInvalidArgument,
             "parameters: expected " + std::to_string(graph_->total_param_size()) + " values, got " +
                 std::to_string(params.size()));
  for (const ParamInfo& p : graph_->params())
    for (int64_t i = 0; i < p.size; ++i)
      HNAS_CHECK(std::isfinite(params[p.offset + i]), kNonFinite,
                 "parameter \"" + p.name + "\" holds NaN or Inf at element " + std::to_string(i));
  params_ = std::move(params);
}

template <typename T>
void Engine<T>::check_batch(const T* input, const int32_t* labels, int64_t n) const {
  HNAS_CHECK(n > 0, kInvalidArgument, "batch size must be positive");
  const int64_t per = graph_->input_shape().numel();
  for (int64_t i = 0; i < n * per; ++i)
    HNAS_CHECK(std::isfinite(input[i]), kNonFinite,
               "input holds NaN or Inf (sample " + std::to_string(i / per) + ", element " + std::to_string(i % per) + ")");
  if (labels) {
    const int64_t k = graph_->num_classes();
    for (int64_t i = 0; i < n; ++i)
      HNAS_CHECK(labels[i] >= 0 && labels[i] < k, kInvalidArgument,
                 "label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) + " is outside [0, " +
                     std::to_string(k) + ")");
  }
}

namespace {
template <typename S, typename T>
void run_forward(const Graph& g, const S* params, const T* input, int64_t n, BnMode bn, ForwardState<S>& st,
                 S* running = nullptr, const SampleScales* scales = nullptr) {
  Shape4 s = g.input_shape();
  s.n = n;
  PoolVector<S> x(checked_size(s.numel(), "input"));
  nchw_to_cnhw(x.data(), input, s);
  forward_pass(g, params, x.data(), n, bn, st, running, scales);
}
}  // namespace

template <typename T>
PoolVector<T> Engine<T>::forward(const T* input, int64_t n, BnMode bn, bool update_running) {
  check_batch(input, nullptr, n);
  ForwardState<T> st;
  run_forward(*graph_, params_.data(), input, n, bn, st, update_running ? params_.data() : nullptr);
  return logits_nk(st.values[graph_->output_value()]);
}

template <typename T>
GradientResult<T> Engine<T>::gradient(const T* input, const int32_t* labels, int64_t n, const GradientRequest& req) {
  HNAS_CHECK(req.objective != OutputSelect::kAll, kInvalidArgument,
             "gradient: the objective must be one scalar per sample (not \"all\")");
  HNAS_CHECK(req.label_smoothing >= 0 && req.label_smoothing < 1, kInvalidArgument,
             "gradient: label smoothing must lie in [0, 1), got " + std::to_string(req.label_smoothing));
  HNAS_CHECK(req.label_smoothing == 0 || req.objective == OutputSelect::kLoss ||
                 req.objective == OutputSelect::kMeanLoss,
             kInvalidArgument, "gradient: label smoothing applies to the loss objectives (mean_loss, loss) only");
  HNAS_CHECK(!req.update_running || req.bn == BnMode::kTrain, kInvalidArgument,
             "gradient: running statistics are updated from batch statistics: updateRunning needs bn \"train\"");
  check_batch(input, labels, n);
  const Graph& g = *graph_;
  if (!req.heads.empty()) {
    HNAS_CHECK(req.objective == OutputSelect::kLoss || req.objective == OutputSelect::kMeanLoss, kInvalidArgument,
               "gradient: loss heads apply to the loss objectives (mean_loss, loss) only");
    const int64_t k = g.num_classes();
    for (size_t h = 0; h < req.heads.size(); ++h) {
      const LossHead& head = req.heads[h];
      const std::string where = "gradient: loss head " + std::to_string(h);
      HNAS_CHECK(head.offset >= 0 && head.count > 0 && head.offset + head.count <= k, kInvalidArgument,
                 where + " covers outputs [" + std::to_string(head.offset) + ", " +
                     std::to_string(head.offset + head.count) + "), outside the network's " + std::to_string(k));
      HNAS_CHECK(std::isfinite(head.weight) && head.weight >= 0, kInvalidArgument,
                 where + ": the weight must be finite and ≥ 0, got " + std::to_string(head.weight));
      for (int64_t i = 0; i < n; ++i)
        HNAS_CHECK(labels[i] < head.count, kInvalidArgument,
                   where + ": label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                       " is outside its " + std::to_string(head.count) + " classes");
    }
  }
  ForwardState<T> st;
  run_forward(g, params_.data(), input, n, req.bn, st, req.update_running ? params_.data() : nullptr, &req.scales);
  const Tensor<T>& out = st.values[g.output_value()];
  GradientResult<T> r;
  r.loss = mean_heads_loss(out, labels, req.label_smoothing, req.heads);
  r.logits = logits_nk(out);
  std::vector<bool> wanted(g.params().size());
  for (size_t p = 0; p < wanted.size(); ++p) wanted[p] = g.params()[p].trainable();
  FullGradSink<T> sink(g, wanted, 1);
  BackwardOptions opt;
  opt.input_grad = req.input_grad;
  Tensor<T> dx = backward_pass(g, params_.data(), st, summed_cotangent(req.objective, out, labels, req.label_smoothing, &req.heads),
                               opt, sink);
  r.grad = std::move(sink.data());
  if (req.input_grad) {
    // CNHW -> NCHW
    const Shape4 s = dx.shape;
    r.input_grad.resize(static_cast<size_t>(s.numel()));
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t j = 0; j < s.plane(); ++j)
          r.input_grad[(i * s.c + c) * s.plane() + j] = dx.data[(c * s.n + i) * s.plane() + j];
  }
  return r;
}

template <typename T>
JacobianResult<T> Engine<T>::jacobian(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                                      const JacobianRequest& req) {
  check_batch(input, labels, n);
  const Graph& g = *graph_;
  HNAS_CHECK(!req.params.empty(), kInvalidArgument, "jacobian: no parameters selected");
  for (int p : req.params)
    HNAS_CHECK(p >= 0 && p < static_cast<int>(g.params().size()) && g.params()[p].trainable(), kInvalidArgument,
               "jacobian: parameter index " + std::to_string(p) + " is not a trainable parameter");
  HNAS_CHECK(req.want_jacobian || req.want_theta, kInvalidArgument, "jacobian: nothing requested");
  ForwardState<T> st;
  run_forward(g, params_.data(), input, n, bn, st);
  const Tensor<T>& out = st.values[g.output_value()];
  const int64_t k = g.num_classes();
  const bool all = req.output == OutputSelect::kAll;
  const int64_t rows = all ? n * k : n;

  JacobianResult<T> r;
  r.rows = rows;
  r.logits = logits_nk(out);
  for (int p : req.params) r.cols += g.params()[p].size;

  if (req.mode == JacobianMode::kDecomposed) {
    BackwardOptions opt;
    opt.copies = all ? k : 1;
    opt.mode = ParamGradMode::kPerSample;
    Tensor<T> cot = summed_cotangent(req.output, out, labels);
    if (req.want_jacobian) {
      JacobianSink<T> sink(g, req.params, rows);
      backward_pass(g, params_.data(), st, std::move(cot), opt, sink);
      r.jacobian = std::move(sink.data());
      if (all) to_sample_major(r.jacobian, k, n, r.cols);
      if (req.want_theta) r.theta = theta_from_jacobian(r.jacobian, rows, r.cols);
    } else {
      ThetaSink<T> sink(g, req.params, rows);
      backward_pass(g, params_.data(), st, std::move(cot), opt, sink);
      r.theta = std::move(sink.theta());
      if (all) {
        // Θ rows and columns both need the reordering.
        to_sample_major(r.theta, k, n, rows);
        PoolVector<double> t(r.theta.size());
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < rows; ++j) t[j * rows + i] = r.theta[i * rows + j];
        to_sample_major(t, k, n, rows);
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < rows; ++j) r.theta[j * rows + i] = t[i * rows + j];
      }
    }
    return r;
  }

  // Exact: rows go through the backward pass `chunk` cotangents at a time.
  int64_t chunk = req.chunk;
  if (chunk <= 0) {
    // About six gradient tensors of the largest value are live at once.
    const int64_t per_copy = 6 * largest_value(g) * n * int64_t(sizeof(T));
    const int64_t budget = int64_t(1536) << 20;
    chunk = std::max<int64_t>(1, budget / std::max<int64_t>(1, per_copy));
  }
  chunk = std::min(chunk, rows);
  r.chunk = chunk;
  BackwardOptions opt;
  opt.mode = ParamGradMode::kSum;
  if (chunk == rows && !req.want_jacobian) {
    ThetaSink<T> sink(g, req.params, rows);
    opt.copies = rows;
    backward_pass(g, params_.data(), st, row_cotangents(req.output, out, labels, 0, rows), opt, sink);
    r.theta = std::move(sink.theta());
    return r;
  }
  JacobianSink<T> sink(g, req.params, rows);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = std::min(rows, r0 + chunk);
    sink.set_first_row(r0);
    opt.copies = r1 - r0;
    backward_pass(g, params_.data(), st, row_cotangents(req.output, out, labels, r0, r1), opt, sink);
  }
  if (req.want_theta) r.theta = theta_from_jacobian(sink.data(), rows, r.cols);
  if (req.want_jacobian) r.jacobian = std::move(sink.data());
  return r;
}

template <typename T>
HvpResult<T> Engine<T>::hvp(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                            const std::vector<int>& sel, const T* v) {
  using D = Dual<T>;
  check_batch(input, labels, n);
  const Graph& g = *graph_;
  std::vector<bool> wanted(g.params().size(), false);
  int64_t total = 0;
  for (int p : sel) {
    HNAS_CHECK(p >= 0 && p < static_cast<int>(g.params().size()) && g.params()[p].trainable(), kInvalidArgument,
               "hvp: parameter index " + std::to_string(p) + " is not a trainable parameter");
    wanted[p] = true;
    total += g.params()[p].size;
  }
  for (int64_t i = 0; i < total; ++i)
    HNAS_CHECK(std::isfinite(v[i]), kNonFinite, "hvp: the vector holds NaN or Inf at element " + std::to_string(i));
  // Parameters seeded with tangent v on the selection: the tangent of the
  // gradient is then H·v (forward-over-reverse).
  std::vector<D> params(params_.begin(), params_.end());
  int64_t off = 0;
  for (int p : sel) {
    const ParamInfo& info = g.params()[p];
    for (int64_t i = 0; i < info.size; ++i) params[info.offset + i].d = v[off + i];
    off += info.size;
  }
  ForwardState<D> st;
  run_forward(g, params.data(), input, n, bn, st);
  const Tensor<D>& out = st.values[g.output_value()];
  FullGradSink<D> sink(g, wanted, 1);
  backward_pass(g, params.data(), st, summed_cotangent(OutputSelect::kMeanLoss, out, labels), BackwardOptions{}, sink);
  HvpResult<T> r;
  r.loss = mean_ce_loss(out, labels);
  r.grad.reserve(static_cast<size_t>(total));
  r.hvp.reserve(static_cast<size_t>(total));
  for (int p : sel) {
    const ParamInfo& info = g.params()[p];
    for (int64_t i = 0; i < info.size; ++i) {
      r.grad.push_back(sink.data()[info.offset + i].v);
      r.hvp.push_back(sink.data()[info.offset + i].d);
    }
  }
  return r;
}

template <typename T>
ReluKernelResult Engine<T>::relu_kernel(const T* input, int64_t n, BnMode bn) {
  check_batch(input, nullptr, n);
  const Graph& g = *graph_;
  ForwardState<T> st;
  run_forward(g, params_.data(), input, n, bn, st);
  // Weight of each Relu node = the nodes that read its output (the graph
  // output counts as a reader; a Relu nobody reads still counts once), summed
  // per distinct input tensor in order of first appearance.
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
  std::vector<int> inputs;        // distinct ReLU input values
  std::vector<int64_t> weights;   // Σ readers over the Relu nodes reading each
  ReluKernelResult r;
  r.n = n;
  for (const Node& node : g.nodes()) {
    if (node.op != OpKind::kRelu) continue;
    ++r.relu_nodes;
    const int v = node.inputs[0];
    const int64_t w = std::max(1, readers[node.output]);
    auto it = std::find(inputs.begin(), inputs.end(), v);
    if (it == inputs.end()) {
      inputs.push_back(v);
      weights.push_back(w);
    } else {
      weights[it - inputs.begin()] += w;
    }
  }
  r.distinct_inputs = static_cast<int64_t>(inputs.size());
  r.weighted.assign(static_cast<size_t>(n * n), 0.0);
  r.distinct.assign(static_cast<size_t>(n * n), 0.0);
  for (size_t j = 0; j < inputs.size(); ++j) {
    const Tensor<T>& x = st.values[inputs[j]];
    const int64_t d = x.shape.c * x.shape.plane();
    const PoolVector<double> k = relu_code_kernel(x);
    const double w = double(weights[j]);
    for (int64_t i = 0; i < n * n; ++i) {
      r.weighted[i] += w * k[i];
      r.distinct[i] += k[i];
    }
    r.relu_modules += weights[j];
    r.units_per_sample += weights[j] * d;
    r.distinct_units_per_sample += d;
  }
  return r;
}

template <typename T>
LayerFisherResult Engine<T>::layer_fisher(const T* input, const int32_t* labels, int64_t n, BnMode bn) {
  check_batch(input, labels, n);
  const Graph& g = *graph_;
  ForwardState<T> st;
  run_forward(g, params_.data(), input, n, bn, st);
  const Tensor<T>& out = st.values[g.output_value()];
  LayerFisherResult r;
  r.loss = mean_ce_loss(out, labels);
  FisherSink<T> sink(g, st);
  backward_pass(g, params_.data(), st, summed_cotangent(OutputSelect::kMeanLoss, out, labels), BackwardOptions{},
                sink);
  r.nodes = sink.nodes();
  r.scores = sink.scores();
  for (int i : r.nodes) r.weights.push_back(g.nodes()[i].weight);
  for (double v : r.scores) r.total += v;
  return r;
}

template class Engine<float>;
template class Engine<double>;

}  // namespace hnas
