#include "cuda/device_engine.h"

#include <algorithm>
#include <type_traits>

#include "cuda/device_executor.h"
#include "cuda/ops_cuda.h"
#include "engine/engine_common.h"

namespace hnas {
namespace cuda {
namespace {

using namespace objective;  // NOLINT: the host objective shared with the CPU engine

// ---- device parameter sinks (twins of engine.cpp's) --------------------------

// Every row of every wanted parameter in one [R][P_total] device matrix.
template <typename T>
class FullGradSink : public DeviceParamSink<T> {
 public:
  FullGradSink(const Graph& g, std::vector<bool> wanted, int64_t rows) : g_(g), wanted_(std::move(wanted)) {
    data_.resize(checked_size(rows * g.total_param_size(), "gradient"));
    data_.zero();
  }
  bool wants(int p) const override { return wanted_[p]; }
  GradRows<T> rows(int p) override { return {data_.data() + g_.params()[p].offset, g_.total_param_size()}; }
  const DeviceBuffer<T>& data() const { return data_; }

 private:
  const Graph& g_;
  std::vector<bool> wanted_;
  DeviceBuffer<T> data_;
};

// Columns of the selected parameters, in selection order: J[R][P_sel].
template <typename T>
class JacobianSink : public DeviceParamSink<T> {
 public:
  JacobianSink(const Graph& g, const std::vector<int>& sel, int64_t rows) : col_(g.params().size(), -1) {
    for (int p : sel) {
      col_[p] = cols_;
      cols_ += g.params()[p].size;
    }
    data_.resize(checked_size(rows * cols_, "Jacobian"));
    data_.zero();
  }
  bool wants(int p) const override { return col_[p] >= 0; }
  GradRows<T> rows(int p) override { return {data_.data() + row0_ * cols_ + col_[p], cols_}; }
  void set_first_row(int64_t r) { row0_ = r; }
  int64_t cols() const { return cols_; }
  const DeviceBuffer<T>& data() const { return data_; }

 private:
  std::vector<int64_t> col_;
  int64_t cols_ = 0, row0_ = 0;
  DeviceBuffer<T> data_;
};

// Θ += G·Gᵀ over the rows×width block G of a (leading dimension lda), in
// float64 on the device: float rows are widened first, as the CPU engine does.
template <typename T>
void add_gram(DeviceBuffer<double>& theta, const T* a, int64_t rows, int64_t width, int64_t lda,
              DeviceBuffer<double>& scratch) {
  if (width <= 0) return;
  if constexpr (std::is_same_v<T, double>) {
    gemm_cuda(Trans::kNo, Trans::kYes, rows, rows, width, 1.0, a, lda, a, lda, 1.0, theta.data(), rows);
  } else {
    scratch.resize(checked_size(rows * width, "NTK rows (float64)"));
    to_double_cuda(scratch.data(), a, rows, width, lda);
    gemm_cuda(Trans::kNo, Trans::kYes, rows, rows, width, 1.0, scratch.data(), width, scratch.data(), width, 1.0,
              theta.data(), rows);
  }
}

// Θ += G_p G_pᵀ for each parameter as soon as its rows are final; the rows
// are then dropped, so J is never held whole.
template <typename T>
class ThetaSink : public DeviceParamSink<T> {
 public:
  ThetaSink(const Graph& g, const std::vector<int>& sel, int64_t rows)
      : g_(g), wanted_(g.params().size(), false), buffers_(g.params().size()), rows_(rows) {
    for (int p : sel) wanted_[p] = true;
    theta_.resize(checked_size(rows * rows, "NTK"));
    theta_.zero();
  }
  bool wants(int p) const override { return wanted_[p]; }
  GradRows<T> rows(int p) override {
    auto& b = buffers_[p];
    if (b.empty()) {
      b.resize(checked_size(rows_ * g_.params()[p].size, "NTK rows"));
      b.zero();
    }
    return {b.data(), g_.params()[p].size};
  }
  void complete(int p) override {
    const int64_t size = g_.params()[p].size;
    add_gram(theta_, buffers_[p].data(), rows_, size, size, scratch_);
    buffers_[p].reset();
  }
  DeviceBuffer<double>& theta() { return theta_; }

 private:
  const Graph& g_;
  std::vector<bool> wanted_;
  std::vector<DeviceBuffer<T>> buffers_;
  int64_t rows_;
  DeviceBuffer<double> theta_;
  DeviceBuffer<double> scratch_;
};

// Θ = J Jᵀ in float64 from a device J, a block of columns at a time.
template <typename T>
PoolVector<double> theta_from_device_jacobian(const DeviceBuffer<T>& J, int64_t rows, int64_t cols) {
  DeviceBuffer<double> theta(checked_size(rows * rows, "NTK"));
  theta.zero();
  DeviceBuffer<double> scratch;
  const int64_t block = 1 << 16;
  for (int64_t c0 = 0; c0 < cols; c0 += block)
    add_gram(theta, J.data() + c0, rows, std::min(block, cols - c0), cols, scratch);
  PoolVector<double> out(static_cast<size_t>(rows * rows));
  theta.download(out.data(), out.size());
  return out;
}

// Observes every Conv2d / Linear output; each layer's a and δ are
// downloaded and reduced on the host (fisher_layer_score).
template <typename T>
class FisherSink : public DeviceParamSink<T> {
 public:
  FisherSink(const Graph& g, const DeviceForwardState<T>& st)
      : g_(g), st_(st), layer_of_(g.nodes().size(), -1), nodes_(fisher_layers(g)) {
    for (size_t j = 0; j < nodes_.size(); ++j) layer_of_[nodes_[j]] = static_cast<int>(j);
    scores_.assign(nodes_.size(), 0.0);
  }
  bool wants(int) const override { return false; }
  GradRows<T> rows(int) override { return {}; }
  bool observes(int node) const override { return layer_of_[node] >= 0; }
  void output_grad(int node, const DeviceTensor<T>& dy) override {
    const Node& nd = g_.nodes()[node];
    scores_[layer_of_[node]] =
        fisher_layer_score(st_.values[nd.output].to_host(), dy.to_host(), g_.params()[nd.weight].size, nd.label());
  }
  const std::vector<int>& nodes() const { return nodes_; }
  const std::vector<double>& scores() const { return scores_; }

 private:
  const Graph& g_;
  const DeviceForwardState<T>& st_;
  std::vector<int> layer_of_;
  std::vector<int> nodes_;
  std::vector<double> scores_;
};


template <typename T>
PoolVector<T> download(const DeviceBuffer<T>& b) {
  PoolVector<T> out(b.size());
  if (!out.empty()) b.download(out.data(), out.size());
  return out;
}

// The batch NCHW → CNHW on the host, then onto the device.
// S: the scalar of the pass (Dual<T> for a Hessian-vector product, tangent 0).
template <typename S, typename T>
DeviceBuffer<S> upload_input(const Graph& g, const T* input, int64_t n) {
  Shape4 s = g.input_shape();
  s.n = n;
  PoolVector<S> x(checked_size(s.numel(), "input"));
  nchw_to_cnhw(x.data(), input, s);
  DeviceBuffer<S> d;
  d.upload(x.data(), x.size());
  return d;
}

// After a pass that updated the running statistics on the device: the host copy follows.
template <typename T>
void download_params(const DeviceBuffer<T>& device, std::vector<T>& host) {
  device.download(host.data(), host.size());
}


}  // namespace

template <typename T>
DeviceEngine<T>::DeviceEngine(std::shared_ptr<const Graph> graph) : graph_(std::move(graph)) {
  require_device();
  stream_ = std::make_unique<Stream>();
  StreamGuard guard(*stream_);
  params_ = DeviceBuffer<T>();  // bound to this engine's stream
}

template <typename T>
DeviceEngine<T>::~DeviceEngine() {
  StreamGuard guard(*stream_);
  params_.reset();
}

template <typename T>
void DeviceEngine<T>::run_forward(std::vector<T>& params, const T* input, int64_t n, BnMode bn, DeviceForwardState<T>& st,
                                  bool update_running, const SampleScales* scales) {
  sync_params(params);
  const Graph& g = *graph_;
  DeviceBuffer<T> x = upload_input<T>(g, input, n);
  device_forward_pass(g, params_.data(), x.data(), n, bn, st, update_running ? params_.data() : nullptr, scales);
}

template <typename T>
void DeviceEngine<T>::sync_params(const std::vector<T>& params) {
  if (!params_dirty_) return;
  params_.upload(params.data(), params.size());
  params_dirty_ = false;
}


template <typename T>
PoolVector<T> DeviceEngine<T>::forward(std::vector<T>& params, const T* input, int64_t n, BnMode bn,
                                       bool update_running) {
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  DeviceForwardState<T> st;
  run_forward(params, input, n, bn, st, update_running);
  PoolVector<T> logits = logits_nk(st.values[g.output_value()].to_host());
  if (update_running) download_params(params_, params);
  return logits;
}

template <typename T>
GradientResult<T> DeviceEngine<T>::gradient(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n,
                                            const GradientRequest& req) {
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  DeviceForwardState<T> st;
  run_forward(params, input, n, req.bn, st, req.update_running, &req.scales);
  const Tensor<T> out = st.values[g.output_value()].to_host();
  GradientResult<T> r;
  r.loss = mean_heads_loss(out, labels, req.label_smoothing, req.heads);
  r.logits = logits_nk(out);
  std::vector<bool> wanted(g.params().size());
  for (size_t p = 0; p < wanted.size(); ++p) wanted[p] = g.params()[p].trainable();
  FullGradSink<T> sink(g, wanted, 1);
  BackwardOptions opt;
  opt.input_grad = req.input_grad;
  DeviceTensor<T> cot =
      DeviceTensor<T>::from_host(summed_cotangent(req.objective, out, labels, req.label_smoothing, &req.heads));
  DeviceTensor<T> dx = device_backward_pass(g, params_.data(), st, std::move(cot), opt, sink);
  r.grad = download(sink.data());
  if (req.input_grad) r.input_grad = cnhw_to_nchw(dx.to_host());
  if (req.update_running) download_params(params_, params);
  return r;
}

template <typename T>
JacobianResult<T> DeviceEngine<T>::jacobian(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n,
                                            BnMode bn, const JacobianRequest& req) {
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  DeviceForwardState<T> st;
  run_forward(params, input, n, bn, st);
  const Tensor<T> out = st.values[g.output_value()].to_host();
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
    DeviceTensor<T> cot = DeviceTensor<T>::from_host(summed_cotangent(req.output, out, labels));
    if (req.want_jacobian) {
      JacobianSink<T> sink(g, req.params, rows);
      device_backward_pass(g, params_.data(), st, std::move(cot), opt, sink);
      if (req.want_theta) {
        r.theta = theta_from_device_jacobian(sink.data(), rows, r.cols);
        if (all) theta_to_sample_major(r.theta, k, n);
      }
      r.jacobian = download(sink.data());
      if (all) to_sample_major(r.jacobian, k, n, r.cols);
    } else {
      ThetaSink<T> sink(g, req.params, rows);
      device_backward_pass(g, params_.data(), st, std::move(cot), opt, sink);
      r.theta = download(sink.theta());
      if (all) theta_to_sample_major(r.theta, k, n);
    }
    return r;
  }

  // Exact: rows go through the backward pass `chunk` cotangents at a time
  // (the same automatic chunk as the CPU engine).
  const int64_t chunk = exact_chunk(g, req.chunk, n, rows, int64_t(sizeof(T)));
  r.chunk = chunk;
  BackwardOptions opt;
  opt.mode = ParamGradMode::kSum;
  if (chunk == rows && !req.want_jacobian) {
    ThetaSink<T> sink(g, req.params, rows);
    opt.copies = rows;
    device_backward_pass(g, params_.data(), st, DeviceTensor<T>::from_host(row_cotangents(req.output, out, labels, 0, rows)),
                         opt, sink);
    r.theta = download(sink.theta());
    return r;
  }
  JacobianSink<T> sink(g, req.params, rows);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = std::min(rows, r0 + chunk);
    sink.set_first_row(r0);
    opt.copies = r1 - r0;
    device_backward_pass(g, params_.data(), st, DeviceTensor<T>::from_host(row_cotangents(req.output, out, labels, r0, r1)),
                         opt, sink);
  }
  if (req.want_theta) r.theta = theta_from_device_jacobian(sink.data(), rows, r.cols);
  if (req.want_jacobian) r.jacobian = download(sink.data());
  return r;
}

template <typename T>
ReluKernelResult DeviceEngine<T>::relu_kernel(std::vector<T>& params, const T* input, int64_t n, BnMode bn) {
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  DeviceForwardState<T> st;
  run_forward(params, input, n, bn, st);
  const ReluKernelPlan plan = plan_relu_kernel(g);
  ReluKernelResult r = empty_relu_kernel(plan, n);
  for (size_t j = 0; j < plan.inputs.size(); ++j) add_relu_kernel(r, st.values[plan.inputs[j]].to_host(), plan.weights[j]);
  return r;
}

template <typename T>
LayerFisherResult DeviceEngine<T>::layer_fisher(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n,
                                                BnMode bn) {
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  DeviceForwardState<T> st;
  run_forward(params, input, n, bn, st);
  const Tensor<T> out = st.values[g.output_value()].to_host();
  LayerFisherResult r;
  r.loss = mean_ce_loss(out, labels);
  FisherSink<T> sink(g, st);
  device_backward_pass(g, params_.data(), st, DeviceTensor<T>::from_host(summed_cotangent(OutputSelect::kMeanLoss, out, labels)),
                       BackwardOptions{}, sink);
  r.nodes = sink.nodes();
  r.scores = sink.scores();
  for (int i : r.nodes) r.weights.push_back(g.nodes()[i].weight);
  for (double v : r.scores) r.total += v;
  return r;
}

template <typename T>
HvpResult<T> DeviceEngine<T>::hvp(const std::vector<Dual<T>>& dual_params, const T* input, const int32_t* labels,
                                  int64_t n, BnMode bn, const std::vector<int>& sel) {
  using D = Dual<T>;
  StreamGuard guard(*stream_);
  const Graph& g = *graph_;
  // The dual parameters live only for this request (the cached real copy is untouched).
  DeviceBuffer<D> params;
  params.upload(dual_params.data(), dual_params.size());
  DeviceBuffer<D> x = upload_input<D>(g, input, n);
  DeviceForwardState<D> st;
  device_forward_pass(g, params.data(), x.data(), n, bn, st);
  const Tensor<D> out = st.values[g.output_value()].to_host();
  FullGradSink<D> sink(g, selected_params(g, sel), 1);
  device_backward_pass(g, params.data(), st,
                       DeviceTensor<D>::from_host(summed_cotangent(OutputSelect::kMeanLoss, out, labels)),
                       BackwardOptions{}, sink);
  const PoolVector<D> grad = download(sink.data());
  return hvp_from_dual_gradient(g, sel, grad.data(), mean_ce_loss(out, labels));
}

template class DeviceEngine<float>;
template class DeviceEngine<double>;

}  // namespace cuda
}  // namespace hnas
