#include "engine/engine.h"
#include "engine/engine_common.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/dual.h"
#include "core/gemm.h"
#include "core/thread_pool.h"
#if defined(HNAS_WITH_CUDA) || defined(HNAS_CUDA_EMULATED)
#define HNAS_ENGINE_CUDA 1
#include "cuda/device_engine.h"
#else
#include "cuda/runtime.h"
#endif

namespace hnas {
namespace {

using namespace objective;  // NOLINT: the shared objective helpers

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

// ---- per-layer fisher --------------------------------------------------------

// Wants no parameter gradient; observes every Conv2d / Linear output and
// folds a·δ into that layer's score as soon as δ is final.
template <typename T>
class FisherSink : public ParamSink<T> {
 public:
  FisherSink(const Graph& g, const ForwardState<T>& st)
      : g_(g), st_(st), layer_of_(g.nodes().size(), -1), nodes_(fisher_layers(g)) {
    for (size_t j = 0; j < nodes_.size(); ++j) layer_of_[nodes_[j]] = static_cast<int>(j);
    scores_.assign(nodes_.size(), 0.0);
  }
  bool wants(int) const override { return false; }
  GradRows<T> rows(int) override { return {}; }
  bool observes(int node) const override { return layer_of_[node] >= 0; }
  void output_grad(int node, const Tensor<T>& dy) override {
    const Node& nd = g_.nodes()[node];
    scores_[layer_of_[node]] = fisher_layer_score(st_.values[nd.output], dy, g_.params()[nd.weight].size, nd.label());
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


}  // namespace

template <typename T>
Engine<T>::Engine(std::shared_ptr<const Graph> graph, std::vector<T> params, EngineDevice device)
    : graph_(std::move(graph)) {
  set_params(std::move(params));
  if (device == EngineDevice::kCuda) {
#if defined(HNAS_ENGINE_CUDA)
    device_ = std::make_shared<cuda::DeviceEngine<T>>(graph_);
#else
    throw cuda::DeviceUnavailableError(cuda::DeviceStatus::kNotCompiled,
                                       "device \"cuda\": this addon was built without the CUDA path");
#endif
  }
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
#if defined(HNAS_ENGINE_CUDA)
  if (device_) device_->params_changed();
#endif
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
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->forward(params_, input, n, bn, update_running);
#endif
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
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->gradient(params_, input, labels, n, req);
#endif
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
  if (req.input_grad) r.input_grad = cnhw_to_nchw(dx);
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
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->jacobian(params_, input, labels, n, bn, req);
#endif
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
      if (all) theta_to_sample_major(r.theta, k, n);
    }
    return r;
  }

  // Exact: rows go through the backward pass `chunk` cotangents at a time.
  const int64_t chunk = exact_chunk(g, req.chunk, n, rows, int64_t(sizeof(T)));
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
  int64_t total = 0;
  for (int p : sel) {
    HNAS_CHECK(p >= 0 && p < static_cast<int>(g.params().size()) && g.params()[p].trainable(), kInvalidArgument,
               "hvp: parameter index " + std::to_string(p) + " is not a trainable parameter");
    total += g.params()[p].size;
  }
  for (int64_t i = 0; i < total; ++i)
    HNAS_CHECK(std::isfinite(v[i]), kNonFinite, "hvp: the vector holds NaN or Inf at element " + std::to_string(i));
  std::vector<D> params = tangent_seeded_params(g, params_, sel, v);
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->hvp(params, input, labels, n, bn, sel);
#endif
  ForwardState<D> st;
  run_forward(g, params.data(), input, n, bn, st);
  const Tensor<D>& out = st.values[g.output_value()];
  FullGradSink<D> sink(g, selected_params(g, sel), 1);
  backward_pass(g, params.data(), st, summed_cotangent(OutputSelect::kMeanLoss, out, labels), BackwardOptions{}, sink);
  return hvp_from_dual_gradient(g, sel, sink.data().data(), mean_ce_loss(out, labels));
}

template <typename T>
ReluKernelResult Engine<T>::relu_kernel(const T* input, int64_t n, BnMode bn) {
  check_batch(input, nullptr, n);
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->relu_kernel(params_, input, n, bn);
#endif
  const Graph& g = *graph_;
  ForwardState<T> st;
  run_forward(g, params_.data(), input, n, bn, st);
  const ReluKernelPlan plan = plan_relu_kernel(g);
  ReluKernelResult r = empty_relu_kernel(plan, n);
  for (size_t j = 0; j < plan.inputs.size(); ++j) add_relu_kernel(r, st.values[plan.inputs[j]], plan.weights[j]);
  return r;
}

template <typename T>
LayerFisherResult Engine<T>::layer_fisher(const T* input, const int32_t* labels, int64_t n, BnMode bn) {
  check_batch(input, labels, n);
#if defined(HNAS_ENGINE_CUDA)
  if (device_) return device_->layer_fisher(params_, input, labels, n, bn);
#endif
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
