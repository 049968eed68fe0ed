#include "addon/network_wrap.h"
#include <cmath>

#include "addon/convert.h"
#include "addon/task_worker.h"
#include "cuda/runtime.h"

namespace hnas {
namespace {

// The JS `reason` of ERR_HNAS_DEVICE_UNAVAILABLE (src/native/device.ts).
const char* device_status_reason(cuda::DeviceStatus s) {
  switch (s) {
    case cuda::DeviceStatus::kAvailable: return "available";
    case cuda::DeviceStatus::kNotCompiled: return "not-compiled";
    case cuda::DeviceStatus::kNoDriver: return "no-driver";
    case cuda::DeviceStatus::kNoDevice: return "no-device";
    case cuda::DeviceStatus::kDriverError: return "driver-error";
  }
  return "no-device";
}

// ---- JS GraphSpec -> GraphDesc ------------------------------------------------

std::string get_string(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), where + ": \"" + key + "\" must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int64_t> get_int_array(const Napi::Value& v, const std::string& where) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), where + " must be an array of integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(v.Env(), where + " must be an array of integers");
    const double d = e.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d)))
      throw Napi::RangeError::New(v.Env(), where + " must hold integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::vector<std::string> get_string_array(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), where + ": \"" + key + "\" must be an array of strings");
  auto a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) throw Napi::TypeError::New(o.Env(), where + ": \"" + key + "\" must be an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

NodeDesc parse_node(const Napi::Object& o, size_t index) {
  NodeDesc nd;
  const std::string where = "nodes[" + std::to_string(index) + "]";
  nd.op = get_string(o, "op", where);
  nd.name = get_string(o, "name", where);
  nd.inputs = get_string_array(o, "inputs", where);
  nd.outputs = get_string_array(o, "outputs", where);
  static const char* kRefs[] = {"weight", "bias", "runningMean", "runningVar"};
  static const char* kReals[] = {"eps", "momentum", "value"};
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    if (key == "op" || key == "name" || key == "inputs" || key == "outputs") continue;
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) continue;
    bool handled = false;
    for (const char* r : kRefs)
      if (key == r) {
        if (!v.IsString()) throw Napi::TypeError::New(o.Env(), where + ": \"" + key + "\" must be a parameter name");
        nd.refs[key] = v.As<Napi::String>().Utf8Value();
        handled = true;
      }
    for (const char* r : kReals)
      if (key == r) {
        if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), where + ": \"" + key + "\" must be a number");
        nd.reals[key] = v.As<Napi::Number>().DoubleValue();
        handled = true;
      }
    if (handled) continue;
    if (v.IsBoolean()) {
      nd.flags[key] = v.As<Napi::Boolean>().Value();
    } else if (v.IsNumber()) {
      const double d = v.As<Napi::Number>().DoubleValue();
      nd.ints[key] = {static_cast<int64_t>(d)};
    } else if (v.IsArray()) {
      nd.ints[key] = get_int_array(v, where + "." + key);
    } else {
      throw Napi::TypeError::New(o.Env(), where + ": attribute \"" + key + "\" has an unsupported type");
    }
  }
  return nd;
}

struct ParsedSpec {
  GraphDesc desc;
  std::vector<Napi::Value> data;  // per param, the typed array
};

ParsedSpec parse_spec(const Napi::Object& spec) {
  ParsedSpec out;
  Napi::Env env = spec.Env();
  Napi::Value in = spec.Get("input"), outv = spec.Get("output");
  if (!in.IsObject() || !outv.IsObject()) throw Napi::TypeError::New(env, "spec.input and spec.output must be objects");
  out.desc.input_name = get_string(in.As<Napi::Object>(), "name", "spec.input");
  out.desc.input_shape = get_int_array(in.As<Napi::Object>().Get("shape"), "spec.input.shape");
  out.desc.output_name = get_string(outv.As<Napi::Object>(), "name", "spec.output");
  Napi::Value params = spec.Get("params"), nodes = spec.Get("nodes");
  if (!params.IsArray() || !nodes.IsArray()) throw Napi::TypeError::New(env, "spec.params and spec.nodes must be arrays");
  auto pa = params.As<Napi::Array>();
  for (uint32_t i = 0; i < pa.Length(); ++i) {
    Napi::Value pv = pa.Get(i);
    if (!pv.IsObject()) throw Napi::TypeError::New(env, "spec.params[" + std::to_string(i) + "] must be an object");
    auto po = pv.As<Napi::Object>();
    const std::string where = "spec.params[" + std::to_string(i) + "]";
    ParamDesc pd;
    pd.name = get_string(po, "name", where);
    pd.kind = get_string(po, "kind", where);
    pd.shape = get_int_array(po.Get("shape"), where + ".shape");
    out.desc.params.push_back(pd);
    out.data.push_back(po.Get("data"));
  }
  auto na = nodes.As<Napi::Array>();
  for (uint32_t i = 0; i < na.Length(); ++i) {
    Napi::Value nv = na.Get(i);
    if (!nv.IsObject()) throw Napi::TypeError::New(env, "spec.nodes[" + std::to_string(i) + "] must be an object");
    out.desc.nodes.push_back(parse_node(nv.As<Napi::Object>(), i));
  }
  return out;
}

template <typename T>
std::vector<T> gather_params(Napi::Env env, const Graph& g, const ParsedSpec& ps) {
  std::vector<T> flat(static_cast<size_t>(g.total_param_size()));
  for (size_t i = 0; i < ps.data.size(); ++i) {
    const ParamInfo& p = g.params()[i];
    std::vector<T> v = to_vector<T>(ps.data[i], ("data of parameter \"" + p.name + "\"").c_str());
    if (static_cast<int64_t>(v.size()) != p.size)
      throw make_error(env, ErrorCode::kInvalidArgument,
                       "parameter \"" + p.name + "\": " + std::to_string(v.size()) + " values for shape of " +
                           std::to_string(p.size));
    std::copy(v.begin(), v.end(), flat.begin() + p.offset);
  }
  return flat;
}

// ---- options ------------------------------------------------------------

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  return info[i].As<Napi::Object>();
}

std::string option_string(const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("option \"") + key + "\" must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool option_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("option \"") + key + "\" must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

BnMode parse_bn(const Napi::Object& o) {
  const std::string s = option_string(o, "bn", "train");
  if (s == "train") return BnMode::kTrain;
  if (s == "eval") return BnMode::kEval;
  if (s == "identity") return BnMode::kIdentity;
  throw Napi::RangeError::New(o.Env(), "option \"bn\" must be \"train\", \"eval\" or \"identity\", got \"" + s + "\"");
}

OutputSelect parse_output(const Napi::Object& o, const char* key, const char* fallback) {
  const std::string s = option_string(o, key, fallback);
  if (s == "true_class") return OutputSelect::kTrueClass;
  if (s == "sum") return OutputSelect::kSum;
  if (s == "all") return OutputSelect::kAll;
  if (s == "loss") return OutputSelect::kLoss;
  if (s == "mean_loss") return OutputSelect::kMeanLoss;
  throw Napi::RangeError::New(o.Env(), std::string("option \"") + key +
                                           "\" must be true_class, sum, all, loss or mean_loss, got \"" + s + "\"");
}

int64_t batch_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "batch size must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::RangeError::New(info.Env(), "batch size must be a positive integer");
  return static_cast<int64_t>(d);
}

std::vector<int> param_indices(const Napi::Object& o, const Graph& g) {
  Napi::Value v = o.Get("params");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(o.Env(), "option \"params\" must be an Int32Array of parameter indices");
  auto a = v.As<Napi::Int32Array>();
  std::vector<int> out(a.Data(), a.Data() + a.ElementLength());
  for (int p : out)
    if (p < 0 || p >= static_cast<int>(g.params().size()))
      throw Napi::RangeError::New(o.Env(), "parameter index " + std::to_string(p) + " is out of range");
  return out;
}

template <typename T>
std::vector<T> input_arg(const Napi::CallbackInfo& info, size_t i, const Graph& g, int64_t n) {
  if (info.Length() <= i) throw Napi::TypeError::New(info.Env(), "missing input");
  std::vector<T> x = to_vector<T>(info[i], "input");
  const int64_t per = g.input_shape().numel();
  if (static_cast<int64_t>(x.size()) != n * per)
    throw make_error(info.Env(), ErrorCode::kInvalidArgument,
                     "input has " + std::to_string(x.size()) + " values; batch " + std::to_string(n) + " of " +
                         g.input_shape().str() + " needs " + std::to_string(n * per));
  return x;
}

std::vector<int32_t> labels_arg(const Napi::CallbackInfo& info, size_t i, int64_t n) {
  if (info.Length() <= i) throw Napi::TypeError::New(info.Env(), "missing labels");
  std::vector<int32_t> y = to_int32_vector(info[i], "labels");
  if (static_cast<int64_t>(y.size()) != n)
    throw make_error(info.Env(), ErrorCode::kInvalidArgument,
                     "labels has " + std::to_string(y.size()) + " values for a batch of " + std::to_string(n));
  return y;
}

}  // namespace

Napi::Function NetworkWrap::Init(Napi::Env env) {
  return DefineClass(env, "Network",
                     {
                         InstanceMethod("describe", &NetworkWrap::Describe),
                         InstanceMethod("getParams", &NetworkWrap::GetParams),
                         InstanceMethod("setParams", &NetworkWrap::SetParams),
                         InstanceMethod("forward", &NetworkWrap::Forward),
                         InstanceMethod("gradient", &NetworkWrap::Gradient),
                         InstanceMethod("jacobian", &NetworkWrap::Jacobian),
                         InstanceMethod("hvp", &NetworkWrap::Hvp),
                         InstanceMethod("reluKernel", &NetworkWrap::ReluKernel),
                         InstanceMethod("layerFisher", &NetworkWrap::LayerFisher),
                         InstanceMethod("dispose", &NetworkWrap::Dispose),
                     });
}

NetworkWrap::NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "Network(spec, options): spec must be an object");
  const Napi::Object opts = options_arg(info, 1);
  const std::string dtype = option_string(opts, "dtype", "float32");
  if (dtype != "float32" && dtype != "float64")
    throw Napi::RangeError::New(env, "option \"dtype\" must be \"float32\" or \"float64\", got \"" + dtype + "\"");
  const std::string device_name = option_string(opts, "device", "cpu");
  if (device_name != "cpu" && device_name != "cuda")
    throw Napi::RangeError::New(env, "option \"device\" must be \"cpu\" or \"cuda\", got \"" + device_name + "\"");
  const EngineDevice device = device_name == "cuda" ? EngineDevice::kCuda : EngineDevice::kCpu;
  ParsedSpec ps = parse_spec(info[0].As<Napi::Object>());
  try {
    graph_ = std::make_shared<const Graph>(ps.desc);
    if (dtype == "float32") {
      f32_ = std::make_shared<Engine<float>>(graph_, gather_params<float>(env, *graph_, ps), device);
    } else {
      f64_ = std::make_shared<Engine<double>>(graph_, gather_params<double>(env, *graph_, ps), device);
    }
  } catch (const cuda::DeviceUnavailableError& e) {
    Napi::Error err = make_error(env, ErrorCode::kUnsupported, e.what());
    err.Value().Set("code", "ERR_HNAS_DEVICE_UNAVAILABLE");
    err.Value().Set("reason", device_status_reason(e.status()));
    throw err;
  } catch (const Error& e) {
    throw make_error(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw make_error(env, ErrorCode::kOutOfMemory, "out of memory while building the network");
  }
}

void NetworkWrap::CheckAlive(Napi::Env env) const {
  if (!f32_ && !f64_) {
    Napi::Error e = Napi::Error::New(env, "network has been disposed");
    e.Value().Set("code", Napi::String::New(env, "ERR_HNAS_DISPOSED"));
    throw e;
  }
}

Napi::Value NetworkWrap::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckAlive(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("dtype", f32_ ? "float32" : "float64");
  o.Set("device", (f32_ ? f32_->device() : f64_->device()) == EngineDevice::kCuda ? "cuda" : "cpu");
  o.Set("totalParamSize", static_cast<double>(graph_->total_param_size()));
  o.Set("macsPerSample", static_cast<double>(graph_->macs_per_sample()));
  o.Set("numClasses", static_cast<double>(graph_->num_classes()));
  Napi::Array params = Napi::Array::New(env, graph_->params().size());
  for (size_t i = 0; i < graph_->params().size(); ++i) {
    const ParamInfo& p = graph_->params()[i];
    Napi::Object po = Napi::Object::New(env);
    po.Set("name", p.name);
    po.Set("kind", static_cast<double>(static_cast<int>(p.kind)));
    po.Set("size", static_cast<double>(p.size));
    po.Set("offset", static_cast<double>(p.offset));
    params.Set(static_cast<uint32_t>(i), po);
  }
  o.Set("params", params);
  Napi::Array shapes = Napi::Array::New(env, graph_->values().size());
  for (size_t i = 0; i < graph_->values().size(); ++i) {
    const ValueInfo& v = graph_->values()[i];
    Napi::Object vo = Napi::Object::New(env);
    vo.Set("name", v.name);
    Napi::Array s = Napi::Array::New(env, 3);
    s.Set(0u, static_cast<double>(v.shape.c));
    s.Set(1u, static_cast<double>(v.shape.h));
    s.Set(2u, static_cast<double>(v.shape.w));
    vo.Set("shape", s);
    shapes.Set(static_cast<uint32_t>(i), vo);
  }
  o.Set("values", shapes);
  return o;
}

Napi::Value NetworkWrap::GetParams(const Napi::CallbackInfo& info) {
  CheckAlive(info.Env());
  std::lock_guard<std::mutex> lock(*mutex_);
  return f32_ ? to_typed_array(info.Env(), f32_->params()) : to_typed_array(info.Env(), f64_->params());
}

Napi::Value NetworkWrap::SetParams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckAlive(env);
  if (info.Length() < 1) throw Napi::TypeError::New(env, "setParams(values): missing values");
  std::lock_guard<std::mutex> lock(*mutex_);
  try {
    if (f32_) f32_->set_params(to_vector<float>(info[0], "values"));
    else f64_->set_params(to_vector<double>(info[0], "values"));
  } catch (const Error& e) {
    throw make_error(env, e.code(), e.what());
  }
  return env.Undefined();
}

Napi::Value NetworkWrap::Dispose(const Napi::CallbackInfo& info) {
  // In-flight tasks keep their own references; they finish normally.
  f32_.reset();
  f64_.reset();
  return info.Env().Undefined();
}

#define HNAS_DISPATCH(Method)                                   \
  Napi::Value NetworkWrap::Method(const Napi::CallbackInfo& info) { \
    CheckAlive(info.Env());                                     \
    if (f32_) return Method##T<float>(info, f32_);              \
    return Method##T<double>(info, f64_);                       \
  }
HNAS_DISPATCH(Forward)
HNAS_DISPATCH(Gradient)
HNAS_DISPATCH(Jacobian)
HNAS_DISPATCH(Hvp)
HNAS_DISPATCH(ReluKernel)
HNAS_DISPATCH(LayerFisher)

// forward(input, n, {bn, updateRunning}) -> Promise<logits [N*K]>
template <typename T>
Napi::Value NetworkWrap::ForwardT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  const int64_t n = batch_arg(info, 1);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  const Napi::Object o = options_arg(info, 2);
  const BnMode bn = parse_bn(o);
  const bool update = option_bool(o, "updateRunning", false);
  auto out = std::make_shared<PoolVector<T>>();
  auto m = mutex_;
  return TaskWorker::Start(
      info.Env(),
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->forward(x->data(), n, bn, update);
      },
      [=](Napi::Env env) { return to_typed_array(env, *out); });
}

// gradient(input, labels, n, {bn, objective, inputGrad, labelSmoothing, updateRunning, heads,
//   sampleScales: {tensors: string[], factors: Float32Array|Float64Array [tensors][N]}})
//   -> Promise<{loss, logits, grad, inputGrad?}>
template <typename T>
Napi::Value NetworkWrap::GradientT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  Napi::Env env = info.Env();
  const int64_t n = batch_arg(info, 2);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  auto y = std::make_shared<std::vector<int32_t>>(labels_arg(info, 1, n));
  const Napi::Object o = options_arg(info, 3);
  auto req = std::make_shared<GradientRequest>();
  req->bn = parse_bn(o);
  req->objective = parse_output(o, "objective", "mean_loss");
  req->input_grad = option_bool(o, "inputGrad", false);
  req->update_running = option_bool(o, "updateRunning", false);
  Napi::Value ls = o.Get("labelSmoothing");
  if (!ls.IsUndefined()) {
    if (!ls.IsNumber()) throw Napi::TypeError::New(env, "option \"labelSmoothing\" must be a number");
    const double eps = ls.As<Napi::Number>().DoubleValue();
    if (!(eps >= 0 && eps < 1)) throw Napi::RangeError::New(env, "option \"labelSmoothing\" must lie in [0, 1)");
    req->label_smoothing = eps;
  }
  Napi::Value hs = o.Get("heads");
  if (!hs.IsUndefined()) {
    if (!hs.IsArray()) throw Napi::TypeError::New(env, "option \"heads\" must be an array of {offset, count, weight}");
    const Napi::Array arr = hs.As<Napi::Array>();
    for (uint32_t h = 0; h < arr.Length(); ++h) {
      const Napi::Value item = arr.Get(h);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "option \"heads\": each head must be an object {offset, count, weight}");
      const Napi::Object ho = item.As<Napi::Object>();
      auto field = [&](const char* name) {
        const Napi::Value v = ho.Get(name);
        if (!v.IsNumber())
          throw Napi::TypeError::New(env, std::string("option \"heads\": head ") + std::to_string(h) + " needs a number \"" + name + "\"");
        return v.As<Napi::Number>().DoubleValue();
      };
      LossHead head;
      const double offset = field("offset"), count = field("count");
      if (!(offset >= 0 && offset == std::floor(offset) && count >= 1 && count == std::floor(count) && offset + count < 1e9))
        throw Napi::RangeError::New(env, "option \"heads\": head " + std::to_string(h) + " needs integer offset ≥ 0 and count ≥ 1");
      head.offset = static_cast<int64_t>(offset);
      head.count = static_cast<int64_t>(count);
      head.weight = field("weight");
      req->heads.push_back(head);
    }
  }
  Napi::Value sc = o.Get("sampleScales");
  if (!sc.IsUndefined()) {
    if (!sc.IsObject()) throw Napi::TypeError::New(env, "option \"sampleScales\" must be an object {tensors, factors}");
    const Napi::Object so = sc.As<Napi::Object>();
    const std::vector<std::string> names = get_string_array(so, "tensors", "option \"sampleScales\"");
    for (const std::string& name : names) {
      const int v = graph_->find_value(name);
      if (v < 0)
        throw make_error(env, ErrorCode::kInvalidArgument, "sampleScales: no tensor named \"" + name + "\"");
      req->scales.values.push_back(v);
    }
    req->scales.factors = to_vector<double>(so.Get("factors"), "option \"sampleScales.factors\"");
    if (req->scales.factors.size() != names.size() * static_cast<size_t>(n))
      throw make_error(env, ErrorCode::kInvalidArgument,
                       "sampleScales: " + std::to_string(req->scales.factors.size()) + " factors for " +
                           std::to_string(names.size()) + " tensors of a batch of " + std::to_string(n));
  }
  auto out = std::make_shared<GradientResult<T>>();
  auto m = mutex_;
  return TaskWorker::Start(
      env,
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->gradient(x->data(), y->data(), n, *req);
      },
      [=](Napi::Env env) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("loss", out->loss);
        r.Set("logits", to_typed_array(env, out->logits));
        r.Set("grad", to_typed_array(env, out->grad));
        if (req->input_grad) r.Set("inputGrad", to_typed_array(env, out->input_grad));
        return r;
      });
}

// jacobian(input, labels, n, {bn, mode, output, params, jacobian, theta, chunk})
//   -> Promise<{rows, cols, chunk, logits, jacobian?, theta?}>
template <typename T>
Napi::Value NetworkWrap::JacobianT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  Napi::Env env = info.Env();
  const int64_t n = batch_arg(info, 2);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  auto y = std::make_shared<std::vector<int32_t>>(labels_arg(info, 1, n));
  const Napi::Object o = options_arg(info, 3);
  JacobianRequest req;
  const std::string mode = option_string(o, "mode", "decomposed");
  if (mode == "decomposed") req.mode = JacobianMode::kDecomposed;
  else if (mode == "exact") req.mode = JacobianMode::kExact;
  else throw Napi::RangeError::New(env, "option \"mode\" must be \"decomposed\" or \"exact\", got \"" + mode + "\"");
  req.output = parse_output(o, "output", "true_class");
  req.params = param_indices(o, *graph_);
  req.want_jacobian = option_bool(o, "jacobian", false);
  req.want_theta = option_bool(o, "theta", true);
  Napi::Value chunk = o.Get("chunk");
  if (!chunk.IsUndefined()) {
    if (!chunk.IsNumber() || chunk.As<Napi::Number>().Int64Value() < 0)
      throw Napi::RangeError::New(env, "option \"chunk\" must be a non-negative integer");
    req.chunk = chunk.As<Napi::Number>().Int64Value();
  }
  const BnMode bn = parse_bn(o);
  auto out = std::make_shared<JacobianResult<T>>();
  auto m = mutex_;
  return TaskWorker::Start(
      env,
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->jacobian(x->data(), y->data(), n, bn, req);
      },
      [=](Napi::Env env) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("rows", static_cast<double>(out->rows));
        r.Set("cols", static_cast<double>(out->cols));
        r.Set("chunk", static_cast<double>(out->chunk));
        r.Set("logits", to_typed_array(env, out->logits));
        if (req.want_jacobian) r.Set("jacobian", to_typed_array(env, out->jacobian));
        if (req.want_theta) r.Set("theta", to_typed_array(env, out->theta));
        return r;
      });
}

// hvp(input, labels, n, {bn, params, vector}) -> Promise<{loss, grad, hvp}>
template <typename T>
Napi::Value NetworkWrap::HvpT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  Napi::Env env = info.Env();
  const int64_t n = batch_arg(info, 2);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  auto y = std::make_shared<std::vector<int32_t>>(labels_arg(info, 1, n));
  const Napi::Object o = options_arg(info, 3);
  const BnMode bn = parse_bn(o);
  auto sel = std::make_shared<std::vector<int>>(param_indices(o, *graph_));
  auto v = std::make_shared<std::vector<T>>(to_vector<T>(o.Get("vector"), "option \"vector\""));
  int64_t total = 0;
  for (int p : *sel) total += graph_->params()[p].size;
  if (static_cast<int64_t>(v->size()) != total)
    throw make_error(env, ErrorCode::kInvalidArgument,
                     "hvp: vector has " + std::to_string(v->size()) + " values for " + std::to_string(total) +
                         " selected parameters");
  auto out = std::make_shared<HvpResult<T>>();
  auto m = mutex_;
  return TaskWorker::Start(
      env,
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->hvp(x->data(), y->data(), n, bn, *sel, v->data());
      },
      [=](Napi::Env env) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("loss", out->loss);
        r.Set("grad", to_typed_array(env, out->grad));
        r.Set("hvp", to_typed_array(env, out->hvp));
        return r;
      });
}

// reluKernel(input, n, {bn}) -> Promise<{weighted, distinct, reluNodes, reluModules,
//   distinctInputs, unitsPerSample, distinctUnitsPerSample}>
template <typename T>
Napi::Value NetworkWrap::ReluKernelT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  const int64_t n = batch_arg(info, 1);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  const BnMode bn = parse_bn(options_arg(info, 2));
  auto out = std::make_shared<ReluKernelResult>();
  auto m = mutex_;
  return TaskWorker::Start(
      info.Env(),
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->relu_kernel(x->data(), n, bn);
      },
      [=](Napi::Env env) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("weighted", to_typed_array(env, out->weighted));
        r.Set("distinct", to_typed_array(env, out->distinct));
        r.Set("reluNodes", static_cast<double>(out->relu_nodes));
        r.Set("reluModules", static_cast<double>(out->relu_modules));
        r.Set("distinctInputs", static_cast<double>(out->distinct_inputs));
        r.Set("unitsPerSample", static_cast<double>(out->units_per_sample));
        r.Set("distinctUnitsPerSample", static_cast<double>(out->distinct_units_per_sample));
        return r;
      });
}

// layerFisher(input, labels, n, {bn}) -> Promise<{loss, params: Int32Array, scores: Float64Array, total}>
template <typename T>
Napi::Value NetworkWrap::LayerFisherT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e) {
  const int64_t n = batch_arg(info, 2);
  auto x = std::make_shared<std::vector<T>>(input_arg<T>(info, 0, *graph_, n));
  auto y = std::make_shared<std::vector<int32_t>>(labels_arg(info, 1, n));
  const BnMode bn = parse_bn(options_arg(info, 3));
  auto out = std::make_shared<LayerFisherResult>();
  auto m = mutex_;
  return TaskWorker::Start(
      info.Env(),
      [=] {
        std::lock_guard<std::mutex> lock(*m);
        *out = e->layer_fisher(x->data(), y->data(), n, bn);
      },
      [=](Napi::Env env) {
        Napi::Object r = Napi::Object::New(env);
        r.Set("loss", out->loss);
        auto params = Napi::Int32Array::New(env, out->weights.size());
        std::copy(out->weights.begin(), out->weights.end(), params.Data());
        r.Set("params", params);
        r.Set("scores", to_typed_array(env, out->scores));
        r.Set("total", out->total);
        return r;
      });
}

}  // namespace hnas
