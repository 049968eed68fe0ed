// See cuda_addon.h. The kernel entry points (`cudaOps`) and their CPU twins
// (`cpuOps`) share one set of argument parsers and validation, so a parity
// test calls both with the same arguments: outputs first, then inputs, then
// dimensions, exactly like the C++ ops. Arrays are host Float32Array or
// Float64Array (one type per call); outputs are updated in place (backward
// ops accumulate into them, like the C++ ops). cudaOps copies every operand
// to the device, runs the op on a stream, and copies the outputs back; it
// throws ERR_HNAS_DEVICE_UNAVAILABLE without a device. Synchronous: for
// tests and benchmarks on bounded sizes.
#include "cuda/cuda_addon.h"

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "addon/convert.h"
#include "core/gemm.h"
#include "cuda/cuda_backend.h"
#include "cuda/device_memory.h"
#include "cuda/ops_cuda.h"
#include "engine/cpu_backend.h"
#include "cuda/runtime.h"
#include "ops/ops.h"

namespace hnas {
namespace cuda {
namespace {

// ---- errors ----------------------------------------------------------------------

Napi::Error device_unavailable(Napi::Env env, const DeviceUnavailableError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Value().Set("code", "ERR_HNAS_DEVICE_UNAVAILABLE");
  err.Value().Set("reason", status_name(e.status()));
  return err;
}

// Runs fn, turning C++ exceptions into typed JS errors.
template <typename Fn>
Napi::Value guarded(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const DeviceUnavailableError& e) {
    throw device_unavailable(env, e);
  } catch (const Error& e) {
    throw make_error(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw make_error(env, ErrorCode::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    throw make_error(env, ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
}

// An op's CPU twin (D = false) or its CUDA kernel (D = true), by the op's name.
template <bool D>
using OpsOf = std::conditional_t<D, CudaBackend, CpuBackend>;

// ---- argument parsing ------------------------------------------------------------------

struct Args {
  const Napi::CallbackInfo& info;
  const char* op;
  Napi::Env env() const { return info.Env(); }
  Napi::Value at(size_t i) const { return i < info.Length() ? info[i] : info.Env().Undefined(); }
  [[noreturn]] void type_error(const std::string& what) const {
    throw Napi::TypeError::New(env(), std::string(op) + ": " + what);
  }
  [[noreturn]] void range_error(const std::string& what) const {
    throw Napi::RangeError::New(env(), std::string(op) + ": " + what);
  }
  int64_t integer(size_t i, const char* name, int64_t min = 0) const {
    Napi::Value v = at(i);
    if (!v.IsNumber()) type_error(std::string(name) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d == static_cast<double>(static_cast<int64_t>(d))) || d < double(min) || d > 9.0e15)
      range_error(std::string(name) + " must be an integer >= " + std::to_string(min));
    return static_cast<int64_t>(d);
  }
  double number(size_t i, const char* name) const {
    Napi::Value v = at(i);
    if (!v.IsNumber()) type_error(std::string(name) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i) const { return at(i).ToBoolean(); }
  std::string string(size_t i, const char* name) const {
    Napi::Value v = at(i);
    if (!v.IsString()) type_error(std::string(name) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  // The float type of the call, from operand i: 4 (Float32Array) or 8.
  int dtype(size_t i) const {
    Napi::Value v = at(i);
    if (v.IsTypedArray()) {
      const auto t = v.As<Napi::TypedArray>().TypedArrayType();
      if (t == napi_float32_array) return 4;
      if (t == napi_float64_array) return 8;
    }
    type_error("operands must be Float32Array or Float64Array");
  }
  Shape4 shape(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsArray() || v.As<Napi::Array>().Length() != 4) type_error("shape must be [c, n, h, w]");
    auto a = v.As<Napi::Array>();
    int64_t d[4];
    for (uint32_t k = 0; k < 4; ++k) {
      Napi::Value e = a.Get(k);
      const double x = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
      if (!(x >= 0 && x == static_cast<double>(static_cast<int64_t>(x)) && x < 2147483647.0))
        range_error("shape must hold integers >= 0");
      d[k] = static_cast<int64_t>(x);
    }
    Shape4 s;
    s.c = d[0];
    s.n = d[1];
    s.h = d[2];
    s.w = d[3];
    return s;
  }
  static int64_t field(const Args& a, const Napi::Object& o, const char* key, int64_t fallback,
                       int64_t min) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
    if (!(d == static_cast<double>(static_cast<int64_t>(d))) || d < double(min))
      a.range_error(std::string("option \"") + key + "\" must be an integer >= " + std::to_string(min));
    return static_cast<int64_t>(d);
  }
  Conv2dParams conv(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsObject()) type_error("conv options must be an object");
    auto o = v.As<Napi::Object>();
    Conv2dParams p;
    p.kh = field(*this, o, "kh", 1, 1);
    p.kw = field(*this, o, "kw", 1, 1);
    p.stride_h = field(*this, o, "strideH", 1, 1);
    p.stride_w = field(*this, o, "strideW", 1, 1);
    p.pad_t = field(*this, o, "padT", 0, 0);
    p.pad_l = field(*this, o, "padL", 0, 0);
    p.pad_b = field(*this, o, "padB", 0, 0);
    p.pad_r = field(*this, o, "padR", 0, 0);
    p.dil_h = field(*this, o, "dilH", 1, 1);
    p.dil_w = field(*this, o, "dilW", 1, 1);
    p.groups = field(*this, o, "groups", 1, 1);
    return p;
  }
  Pool2dParams pool(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsObject()) type_error("pool options must be an object");
    auto o = v.As<Napi::Object>();
    Pool2dParams p;
    p.kh = field(*this, o, "kh", 1, 1);
    p.kw = field(*this, o, "kw", 1, 1);
    p.stride_h = field(*this, o, "strideH", 1, 1);
    p.stride_w = field(*this, o, "strideW", 1, 1);
    p.pad_t = field(*this, o, "padT", 0, 0);
    p.pad_l = field(*this, o, "padL", 0, 0);
    p.pad_b = field(*this, o, "padB", 0, 0);
    p.pad_r = field(*this, o, "padR", 0, 0);
    p.dil_h = field(*this, o, "dilH", 1, 1);
    p.dil_w = field(*this, o, "dilW", 1, 1);
    p.count_include_pad = o.Get("countIncludePad").ToBoolean();
    return p;
  }
  BnMode bn_mode(size_t i) const {
    const std::string s = string(i, "mode");
    if (s == "train") return BnMode::kTrain;
    if (s == "eval") return BnMode::kEval;
    if (s == "identity") return BnMode::kIdentity;
    range_error("mode must be \"train\", \"eval\" or \"identity\"");
  }
  ParamGradMode grad_mode(size_t i) const {
    const std::string s = string(i, "paramGradMode");
    if (s == "sum") return ParamGradMode::kSum;
    if (s == "perSample") return ParamGradMode::kPerSample;
    range_error("paramGradMode must be \"sum\" or \"perSample\"");
  }
};

// The operands of one call: host typed arrays, and for the device backend
// their device copies. ptr() hands the op the pointer it works on.
template <typename S>
class Operands {
 public:
  Operands(const Args& args, bool device) : args_(args), device_(device) {}

  // Operand i: a typed array of S with at least `required` elements; null or
  // undefined gives nullptr when `optional`. `output` arrays are copied back.
  S* array(size_t i, const char* name, int64_t required, bool output, bool optional = false) {
    Napi::Value v = args_.at(i);
    if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
    constexpr napi_typedarray_type want = sizeof(S) == 4 ? napi_float32_array : napi_float64_array;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
      args_.type_error(std::string(name) + " must be a " + (sizeof(S) == 4 ? "Float32Array" : "Float64Array") +
                       " (one float type per call)");
    auto ta = v.As<Napi::TypedArray>();
    const int64_t len = static_cast<int64_t>(ta.ElementLength());
    if (len < required)
      args_.range_error(std::string(name) + " has " + std::to_string(len) + " elements, needs " +
                        std::to_string(required));
    S* host = reinterpret_cast<S*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    return add(host, static_cast<size_t>(len), output);
  }
  // A GradRows operand: null, or {data, rowStride} with `rows` rows of `width`.
  GradRows<S> rows(size_t i, const char* name, int64_t rows, int64_t width) {
    Napi::Value v = args_.at(i);
    GradRows<S> g;
    if (v.IsNull() || v.IsUndefined()) return g;
    if (!v.IsObject()) args_.type_error(std::string(name) + " must be null or {data, rowStride}");
    auto o = v.As<Napi::Object>();
    Napi::Value rs = o.Get("rowStride");
    if (!rs.IsNumber()) args_.type_error(std::string(name) + ".rowStride must be a number");
    const double d = rs.As<Napi::Number>().DoubleValue();
    if (!(d >= double(width) && d == static_cast<double>(static_cast<int64_t>(d))))
      args_.range_error(std::string(name) + ".rowStride must be an integer >= " + std::to_string(width));
    g.row_stride = static_cast<int64_t>(d);
    Napi::Value data = o.Get("data");
    constexpr napi_typedarray_type want = sizeof(S) == 4 ? napi_float32_array : napi_float64_array;
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != want)
      args_.type_error(std::string(name) + ".data must be a typed array of the call's float type");
    auto ta = data.As<Napi::TypedArray>();
    const int64_t need = rows > 0 ? (rows - 1) * g.row_stride + width : 0;
    if (static_cast<int64_t>(ta.ElementLength()) < need)
      args_.range_error(std::string(name) + ".data has " + std::to_string(ta.ElementLength()) +
                        " elements, needs " + std::to_string(need));
    S* host = reinterpret_cast<S*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    g.data = add(host, ta.ElementLength(), true);
    return g;
  }
  // Copies the outputs back (device backend); waits for the device.
  void finish() {
    if (!device_) return;
    for (auto& e : entries_)
      if (e->output) e->dev.download(e->host, e->len);
    synchronize();
  }

 private:
  struct Entry {
    S* host;
    size_t len;
    bool output;
    DeviceBuffer<S> dev;
  };
  S* add(S* host, size_t len, bool output) {
    if (!device_) return host;
    auto e = std::make_unique<Entry>(Entry{host, len, output, DeviceBuffer<S>()});
    e->dev.upload(host, len);
    S* p = e->dev.data();
    entries_.push_back(std::move(e));
    return p;
  }
  const Args& args_;
  bool device_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// The stream the device entry points run on (created on first use, never
// destroyed: it lives as long as the process).
StreamHandle ops_stream() {
  static Stream* s = new Stream();
  return s->handle();
}

// Dispatches op<S, Device>(args) on the call's float type (from operand
// `typed`), for the CPU (device = false) or the device.
template <template <typename, bool> class Op, bool Device>
Napi::Value dispatch(const Napi::CallbackInfo& info, const char* name, size_t typed) {
  Args args{info, name};
  const int bytes = args.dtype(typed);
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (Device) require_device();
    StreamGuard guard(Device ? ops_stream() : nullptr);
    if (bytes == 4) {
      Operands<float> ops(args, Device);
      Op<float, Device>::run(args, ops);
      ops.finish();
    } else {
      Operands<double> ops(args, Device);
      Op<double, Device>::run(args, ops);
      ops.finish();
    }
    return info.Env().Undefined();
  });
}

// ---- the ops ---------------------------------------------------------------------------
// Each: static void run(const Args&, Operands<S>&) calling the _cpu or _cuda op.

template <typename S, bool D>
struct GemmOp {
  // gemm(transA, transB, M, N, K, alpha, A, B, beta, C)
  static void run(const Args& a, Operands<S>& o) {
    const bool ta = a.boolean(0), tb = a.boolean(1);
    const int64_t M = a.integer(2, "M"), N = a.integer(3, "N"), K = a.integer(4, "K");
    const S alpha = static_cast<S>(a.number(5, "alpha")), beta = static_cast<S>(a.number(8, "beta"));
    const S* A = o.array(6, "A", M * K, false);
    const S* B = o.array(7, "B", K * N, false);
    S* C = o.array(9, "C", M * N, true);
    const Trans TA = ta ? Trans::kYes : Trans::kNo, TB = tb ? Trans::kYes : Trans::kNo;
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    if constexpr (D) gemm_cuda(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    else gemm(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
  }
};

template <typename S, bool D>
struct ReluForwardOp {
  // reluForward(y, x)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t n = static_cast<int64_t>(a.at(1).As<Napi::TypedArray>().ElementLength());
    S* y = o.array(0, "y", n, true);
    const S* x = o.array(1, "x", n, false);
    OpsOf<D>::relu_forward(y, x, n);
  }
};

template <typename S, bool D>
struct ReluBackwardOp {
  // reluBackward(dx, dy, x, shape, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(3);
    const int64_t copies = a.integer(4, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", s.numel() * copies, false);
    const S* x = o.array(2, "x", s.numel(), false);
    OpsOf<D>::relu_backward(dx, dy, x, s, copies);
  }
};

template <typename S, bool D>
struct AddForwardOp {
  // addForward(y, a, b)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t n = static_cast<int64_t>(a.at(1).As<Napi::TypedArray>().ElementLength());
    S* y = o.array(0, "y", n, true);
    const S* x0 = o.array(1, "a", n, false);
    const S* x1 = o.array(2, "b", n, false);
    OpsOf<D>::add_forward(y, x0, x1, n);
  }
};

template <typename S, bool D>
struct ScaleAccumulateOp {
  // scaleAccumulate(dx, dy, scale)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t n = static_cast<int64_t>(a.at(1).As<Napi::TypedArray>().ElementLength());
    S* dx = o.array(0, "dx", n, true);
    const S* dy = o.array(1, "dy", n, false);
    const double scale = a.number(2, "scale");
    OpsOf<D>::scale_accumulate(dx, dy, scale, n);
  }
};

template <typename S, bool D>
struct MulConstOp {
  // mulConstForward(y, x, value)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t n = static_cast<int64_t>(a.at(1).As<Napi::TypedArray>().ElementLength());
    S* y = o.array(0, "y", n, true);
    const S* x = o.array(1, "x", n, false);
    const double value = a.number(2, "value");
    OpsOf<D>::mul_const_forward(y, x, value, n);
  }
};

template <typename S, bool D>
struct FlattenForwardOp {
  // flattenForward(y, x, shape)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    S* y = o.array(0, "y", s.numel(), true);
    const S* x = o.array(1, "x", s.numel(), false);
    OpsOf<D>::flatten_forward(y, x, s);
  }
};

template <typename S, bool D>
struct FlattenBackwardOp {
  // flattenBackward(dx, dy, shape, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const int64_t copies = a.integer(3, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", s.numel() * copies, false);
    OpsOf<D>::flatten_backward(dx, dy, s, copies);
  }
};

template <typename S, bool D>
struct SampleScaleOp {
  // sampleScale(x, scale, shape, copies): x [C][copies·N][plane] *= scale[n]
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const int64_t copies = a.integer(3, "copies", 1);
    S* x = o.array(0, "x", s.numel() * copies, true);
    const S* scale = o.array(1, "scale", s.n, false);
    OpsOf<D>::sample_scale(x, scale, s.c, s.n, s.plane(), copies);
  }
};

template <typename S, bool D>
struct BatchNormUpdateRunningOp {
  // batchNormUpdateRunning(runMean, runVar, x, shape, momentum)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(3);
    const double momentum = a.number(4, "momentum");
    if (!(momentum >= 0 && momentum <= 1)) a.range_error("momentum must lie in [0, 1]");
    S* mean = o.array(0, "runMean", s.c, true);
    S* var = o.array(1, "runVar", s.c, true);
    const S* x = o.array(2, "x", s.numel(), false);
    OpsOf<D>::batch_norm_update_running(mean, var, x, s, momentum);
  }
};

// The slice parameters from integers [startH, startW, endH, endW, stepH, stepW].
SliceParams slice_arg(const Args& a, size_t i, const Shape4& s) {
  const Napi::Value v = a.at(i);
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 6) a.range_error("slice must be [startH, startW, endH, endW, stepH, stepW]");
  const Napi::Array arr = v.As<Napi::Array>();
  int64_t q[6];
  for (uint32_t k = 0; k < 6; ++k) {
    const Napi::Value e = arr.Get(k);
    if (!e.IsNumber()) a.range_error("slice must hold integers");
    q[k] = e.As<Napi::Number>().Int64Value();
  }
  SliceParams p{q[0], q[1], q[2], q[3], q[4], q[5]};
  if (!(p.start_h >= 0 && p.start_w >= 0 && p.end_h <= s.h && p.end_w <= s.w && p.end_h > p.start_h &&
        p.end_w > p.start_w && p.step_h > 0 && p.step_w > 0))
    a.range_error("slice out of the tensor's bounds");
  return p;
}

int64_t sliced_numel(const Shape4& s, const SliceParams& p) {
  return s.c * s.n * slice_out(p.start_h, p.end_h, p.step_h) * slice_out(p.start_w, p.end_w, p.step_w);
}

template <typename S, bool D>
struct SliceForwardOp {
  // sliceForward(y, x, shape, slice)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const SliceParams p = slice_arg(a, 3, s);
    S* y = o.array(0, "y", sliced_numel(s, p), true);
    const S* x = o.array(1, "x", s.numel(), false);
    OpsOf<D>::slice_forward(y, x, s, p);
  }
};

template <typename S, bool D>
struct SliceBackwardOp {
  // sliceBackward(dx, dy, shape, slice, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const SliceParams p = slice_arg(a, 3, s);
    const int64_t copies = a.integer(4, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", sliced_numel(s, p) * copies, false);
    OpsOf<D>::slice_backward(dx, dy, s, p, copies);
  }
};

template <typename S, bool D>
struct BatchNormForwardOp {
  // batchNormForward(y, saveMean, saveRstd, x, gamma?, beta?, runMean?, runVar?, shape, mode, eps)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(8);
    const BnMode mode = a.bn_mode(9);
    const double eps = a.number(10, "eps");
    if (!(eps >= 0)) a.range_error("eps must be >= 0");
    S* y = o.array(0, "y", s.numel(), true);
    S* mean = o.array(1, "saveMean", s.c, true);
    S* rstd = o.array(2, "saveRstd", s.c, true);
    const S* x = o.array(3, "x", s.numel(), false);
    const S* gamma = o.array(4, "gamma", s.c, false, true);
    const S* beta = o.array(5, "beta", s.c, false, true);
    const bool eval = mode == BnMode::kEval;
    const S* rm = o.array(6, "runMean", s.c, false, !eval);
    const S* rv = o.array(7, "runVar", s.c, false, !eval);
    OpsOf<D>::batch_norm_forward(y, mean, rstd, x, gamma, beta, rm, rv, s, mode, eps);
  }
};

template <typename S, bool D>
struct BatchNormBackwardOp {
  // batchNormBackward(dx?, dgamma?, dbeta?, dy, x, saveMean, saveRstd, gamma?, shape, mode,
  //                   copies, paramGradMode)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(8);
    const BnMode mode = a.bn_mode(9);
    const int64_t copies = a.integer(10, "copies", 1);
    const ParamGradMode pm = a.grad_mode(11);
    const int64_t rows = pm == ParamGradMode::kSum ? copies : copies * s.n;
    S* dx = o.array(0, "dx", s.numel() * copies, true, true);
    GradRows<S> dgamma = o.rows(1, "dgamma", rows, s.c);
    GradRows<S> dbeta = o.rows(2, "dbeta", rows, s.c);
    const S* dy = o.array(3, "dy", s.numel() * copies, false);
    const S* x = o.array(4, "x", s.numel(), false);
    const S* mean = o.array(5, "saveMean", s.c, false);
    const S* rstd = o.array(6, "saveRstd", s.c, false);
    const S* gamma = o.array(7, "gamma", s.c, false, true);
    OpsOf<D>::batch_norm_backward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, s, mode, copies, pm);
  }
};

int64_t pooled(const Shape4& s, const Pool2dParams& p) {
  return s.c * s.n * window_out(s.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h) *
         window_out(s.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w);
}

template <typename S, bool D>
struct AvgPoolForwardOp {
  // avgPool2dForward(y, x, shape, pool)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const Pool2dParams p = a.pool(3);
    S* y = o.array(0, "y", pooled(s, p), true);
    const S* x = o.array(1, "x", s.numel(), false);
    OpsOf<D>::avg_pool2d_forward(y, x, s, p);
  }
};

template <typename S, bool D>
struct AvgPoolBackwardOp {
  // avgPool2dBackward(dx, dy, shape, pool, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const Pool2dParams p = a.pool(3);
    const int64_t copies = a.integer(4, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", pooled(s, p) * copies, false);
    OpsOf<D>::avg_pool2d_backward(dx, dy, s, p, copies);
  }
};

template <typename S, bool D>
struct MaxPoolForwardOp {
  // maxPool2dForward(y, x, shape, pool)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const Pool2dParams p = a.pool(3);
    S* y = o.array(0, "y", pooled(s, p), true);
    const S* x = o.array(1, "x", s.numel(), false);
    OpsOf<D>::max_pool2d_forward(y, x, s, p);
  }
};

template <typename S, bool D>
struct MaxPoolBackwardOp {
  // maxPool2dBackward(dx, dy, x, shape, pool, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(3);
    const Pool2dParams p = a.pool(4);
    const int64_t copies = a.integer(5, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", pooled(s, p) * copies, false);
    const S* x = o.array(2, "x", s.numel(), false);
    OpsOf<D>::max_pool2d_backward(dx, dy, x, s, p, copies);
  }
};

template <typename S, bool D>
struct GapForwardOp {
  // globalAvgPoolForward(y, x, shape)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    S* y = o.array(0, "y", s.c * s.n, true);
    const S* x = o.array(1, "x", s.numel(), false);
    OpsOf<D>::global_avg_pool_forward(y, x, s);
  }
};

template <typename S, bool D>
struct GapBackwardOp {
  // globalAvgPoolBackward(dx, dy, shape, copies)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(2);
    const int64_t copies = a.integer(3, "copies", 1);
    S* dx = o.array(0, "dx", s.numel() * copies, true);
    const S* dy = o.array(1, "dy", s.c * s.n * copies, false);
    OpsOf<D>::global_avg_pool_backward(dx, dy, s, copies);
  }
};

template <typename S, bool D>
struct LinearForwardOp {
  // linearForward(y, x, w, bias?, f, k, n)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t f = a.integer(4, "f"), k = a.integer(5, "k"), n = a.integer(6, "n");
    S* y = o.array(0, "y", k * n, true);
    const S* x = o.array(1, "x", f * n, false);
    const S* w = o.array(2, "w", k * f, false);
    const S* bias = o.array(3, "bias", k, false, true);
    OpsOf<D>::linear_forward(y, x, w, bias, f, k, n);
  }
};

template <typename S, bool D>
struct LinearBackwardOp {
  // linearBackward(dx?, dw?, dbias?, dy, x, w, f, k, n, copies, paramGradMode)
  static void run(const Args& a, Operands<S>& o) {
    const int64_t f = a.integer(6, "f"), k = a.integer(7, "k"), n = a.integer(8, "n");
    const int64_t copies = a.integer(9, "copies", 1);
    const ParamGradMode pm = a.grad_mode(10);
    const int64_t rows = pm == ParamGradMode::kSum ? copies : copies * n;
    S* dx = o.array(0, "dx", f * n * copies, true, true);
    GradRows<S> dw = o.rows(1, "dw", rows, k * f);
    GradRows<S> dbias = o.rows(2, "dbias", rows, k);
    const S* dy = o.array(3, "dy", k * n * copies, false);
    const S* x = o.array(4, "x", f * n, false);
    const S* w = o.array(5, "w", k * f, false);
    OpsOf<D>::linear_backward(dx, dw, dbias, dy, x, w, f, k, n, copies, pm);
  }
};

int64_t conv_out(const Shape4& s, int64_t cout, const Conv2dParams& p) {
  return cout * s.n * window_out(s.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h) *
         window_out(s.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w);
}

void check_groups(const Args& a, const Shape4& s, int64_t cout, const Conv2dParams& p) {
  if (s.c % p.groups != 0 || cout % p.groups != 0)
    a.range_error("channels must be divisible by groups");
}

template <typename S, bool D>
struct ConvForwardOp {
  // conv2dForward(y, x, w, bias?, shape, cout, conv)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(4);
    const int64_t cout = a.integer(5, "cout", 1);
    const Conv2dParams p = a.conv(6);
    check_groups(a, s, cout, p);
    S* y = o.array(0, "y", conv_out(s, cout, p), true);
    const S* x = o.array(1, "x", s.numel(), false);
    const S* w = o.array(2, "w", cout * (s.c / p.groups) * p.kh * p.kw, false);
    const S* bias = o.array(3, "bias", cout, false, true);
    OpsOf<D>::conv2d_forward(y, x, w, bias, s, cout, p);
  }
};

template <typename S, bool D>
struct ConvBackwardOp {
  // conv2dBackward(dx?, dw?, dbias?, dy, x, w, shape, cout, conv, copies, paramGradMode)
  static void run(const Args& a, Operands<S>& o) {
    const Shape4 s = a.shape(6);
    const int64_t cout = a.integer(7, "cout", 1);
    const Conv2dParams p = a.conv(8);
    check_groups(a, s, cout, p);
    const int64_t copies = a.integer(9, "copies", 1);
    const ParamGradMode pm = a.grad_mode(10);
    const int64_t rows = pm == ParamGradMode::kSum ? copies : copies * s.n;
    const int64_t wsize = cout * (s.c / p.groups) * p.kh * p.kw;
    S* dx = o.array(0, "dx", s.numel() * copies, true, true);
    GradRows<S> dw = o.rows(1, "dw", rows, wsize);
    GradRows<S> dbias = o.rows(2, "dbias", rows, cout);
    const S* dy = o.array(3, "dy", conv_out(s, cout, p) * copies, false);
    const S* x = o.array(4, "x", s.numel(), false);
    const S* w = o.array(5, "w", wsize, false);
    OpsOf<D>::conv2d_backward(dx, dw, dbias, dy, x, w, s, cout, p, copies, pm);
  }
};

template <bool Device>
Napi::Object make_ops(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto def = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    o.Set(name, Napi::Function::New(env, fn, name));
  };
  // The operand that decides the float type of each call.
  def("gemm", [](const Napi::CallbackInfo& i) { return dispatch<GemmOp, Device>(i, "gemm", 6); });
  def("reluForward", [](const Napi::CallbackInfo& i) { return dispatch<ReluForwardOp, Device>(i, "reluForward", 1); });
  def("reluBackward", [](const Napi::CallbackInfo& i) { return dispatch<ReluBackwardOp, Device>(i, "reluBackward", 1); });
  def("addForward", [](const Napi::CallbackInfo& i) { return dispatch<AddForwardOp, Device>(i, "addForward", 1); });
  def("scaleAccumulate", [](const Napi::CallbackInfo& i) { return dispatch<ScaleAccumulateOp, Device>(i, "scaleAccumulate", 1); });
  def("mulConstForward", [](const Napi::CallbackInfo& i) { return dispatch<MulConstOp, Device>(i, "mulConstForward", 1); });
  def("batchNormForward", [](const Napi::CallbackInfo& i) { return dispatch<BatchNormForwardOp, Device>(i, "batchNormForward", 3); });
  def("batchNormBackward", [](const Napi::CallbackInfo& i) { return dispatch<BatchNormBackwardOp, Device>(i, "batchNormBackward", 3); });
  def("avgPool2dForward", [](const Napi::CallbackInfo& i) { return dispatch<AvgPoolForwardOp, Device>(i, "avgPool2dForward", 1); });
  def("avgPool2dBackward", [](const Napi::CallbackInfo& i) { return dispatch<AvgPoolBackwardOp, Device>(i, "avgPool2dBackward", 1); });
  def("maxPool2dForward", [](const Napi::CallbackInfo& i) { return dispatch<MaxPoolForwardOp, Device>(i, "maxPool2dForward", 1); });
  def("maxPool2dBackward", [](const Napi::CallbackInfo& i) { return dispatch<MaxPoolBackwardOp, Device>(i, "maxPool2dBackward", 1); });
  def("globalAvgPoolForward", [](const Napi::CallbackInfo& i) { return dispatch<GapForwardOp, Device>(i, "globalAvgPoolForward", 1); });
  def("globalAvgPoolBackward", [](const Napi::CallbackInfo& i) { return dispatch<GapBackwardOp, Device>(i, "globalAvgPoolBackward", 1); });
  def("linearForward", [](const Napi::CallbackInfo& i) { return dispatch<LinearForwardOp, Device>(i, "linearForward", 1); });
  def("linearBackward", [](const Napi::CallbackInfo& i) { return dispatch<LinearBackwardOp, Device>(i, "linearBackward", 3); });
  def("conv2dForward", [](const Napi::CallbackInfo& i) { return dispatch<ConvForwardOp, Device>(i, "conv2dForward", 1); });
  def("conv2dBackward", [](const Napi::CallbackInfo& i) { return dispatch<ConvBackwardOp, Device>(i, "conv2dBackward", 3); });
  def("flattenForward", [](const Napi::CallbackInfo& i) { return dispatch<FlattenForwardOp, Device>(i, "flattenForward", 1); });
  def("flattenBackward", [](const Napi::CallbackInfo& i) { return dispatch<FlattenBackwardOp, Device>(i, "flattenBackward", 1); });
  def("sampleScale", [](const Napi::CallbackInfo& i) { return dispatch<SampleScaleOp, Device>(i, "sampleScale", 0); });
  def("batchNormUpdateRunning", [](const Napi::CallbackInfo& i) { return dispatch<BatchNormUpdateRunningOp, Device>(i, "batchNormUpdateRunning", 2); });
  def("sliceForward", [](const Napi::CallbackInfo& i) { return dispatch<SliceForwardOp, Device>(i, "sliceForward", 1); });
  def("sliceBackward", [](const Napi::CallbackInfo& i) { return dispatch<SliceBackwardOp, Device>(i, "sliceBackward", 1); });
  return o;
}

// ---- device facts ------------------------------------------------------------------------

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Availability& a = availability();
  Napi::Object o = Napi::Object::New(env);
  o.Set("status", status_name(a.status));
  o.Set("deviceCount", a.device_count);
  o.Set("driverVersion", a.driver_version);
  o.Set("runtimeVersion", runtime_version());
  o.Set("message", a.message);
  return o;
}

Napi::Value CudaDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::vector<DeviceInfo> list = devices();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      const DeviceInfo& d = list[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("index", d.index);
      o.Set("name", d.name);
      o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
      o.Set("multiprocessors", d.multiprocessors);
      o.Set("totalMemory", static_cast<double>(d.total_bytes));
      o.Set("freeMemory", static_cast<double>(d.free_bytes));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  });
}

Napi::Value CudaReleaseMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(device_release_cached()));
}

// benchGemm(double, M, N, K, reps) -> seconds of the fastest of `reps` GEMMs
// (C = A·B, operands resident on the device, host clock around a sync).
Napi::Value CudaBenchGemm(const Napi::CallbackInfo& info) {
  Args args{info, "benchGemm"};
  const bool dbl = args.boolean(0);
  const int64_t M = args.integer(1, "M", 1), N = args.integer(2, "N", 1), K = args.integer(3, "K", 1);
  const int64_t reps = args.integer(4, "reps", 1);
  return guarded(info.Env(), [&]() -> Napi::Value {
    require_device();
    StreamGuard guard(ops_stream());
    auto run = [&](auto zero) {
      using T = decltype(zero);
      std::vector<T> host(static_cast<size_t>(std::max(M * K, K * N)));
      for (size_t i = 0; i < host.size(); ++i) host[i] = T((i * 2654435761u % 1000) / 1000.0 - 0.5);
      DeviceBuffer<T> a, b, c(static_cast<size_t>(M * N));
      a.upload(host.data(), static_cast<size_t>(M * K));
      b.upload(host.data(), static_cast<size_t>(K * N));
      gemm_cuda(Trans::kNo, Trans::kNo, M, N, K, T(1), a.data(), K, b.data(), N, T(0), c.data(), N);
      synchronize();  // warm-up
      double best = 1e300;
      for (int64_t r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        gemm_cuda(Trans::kNo, Trans::kNo, M, N, K, T(1), a.data(), K, b.data(), N, T(0), c.data(), N);
        synchronize();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s < best) best = s;
      }
      return best;
    };
    const double seconds = dbl ? run(0.0) : run(0.0f);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("seconds", seconds);
    o.Set("tile", gemm_cuda_tile_name(dbl, M, N, 1));
    return o;
  });
}

// forceGemmTile(name) -> the name in effect ("auto" restores the choice by size).
Napi::Value CudaForceGemmTile(const Napi::CallbackInfo& info) {
  Args args{info, "forceGemmTile"};
  const std::string name = args.string(0, "tile");
  return guarded(info.Env(), [&]() -> Napi::Value {
    gemm_cuda_force_tile(name);
    return Napi::String::New(info.Env(), name);
  });
}

}  // namespace

void add_cuda_build_info(Napi::Env env, Napi::Object info) {
  info.Set("cudaCompiled", !emulated());
  info.Set("cudaEmulated", emulated());
  info.Set("cudaRuntimeVersion", runtime_version());
  info.Set("cudaArchitectures", compiled_architectures());
  info.Set("cudaCompilerVersion", compiler_version());
}

void register_cuda_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus, "cudaStatus"));
  exports.Set("cudaDevices", Napi::Function::New(env, CudaDevices, "cudaDevices"));
  exports.Set("cudaReleaseMemory", Napi::Function::New(env, CudaReleaseMemory, "cudaReleaseMemory"));
  Napi::Object device_ops = make_ops<true>(env);
  device_ops.Set("benchGemm", Napi::Function::New(env, CudaBenchGemm, "benchGemm"));
  device_ops.Set("forceGemmTile", Napi::Function::New(env, CudaForceGemmTile, "forceGemmTile"));
  exports.Set("cudaOps", device_ops);
  exports.Set("cpuOps", make_ops<false>(env));
}

}  // namespace cuda
}  // namespace hnas
