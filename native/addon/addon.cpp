// Module registration: the Network class, build/CPU facts, thread control and
// a direct GEMM entry point (for the tests and `npm run bench`).
#include <napi.h>

#include "addon/convert.h"
#include "addon/network_wrap.h"
#include "core/cpu_features.h"
#include "core/gemm.h"
#include "core/peak.h"
#include "core/buffer_pool.h"
#include "core/thread_pool.h"
#if defined(HNAS_WITH_CUDA) || defined(HNAS_CUDA_EMULATED)
#include "cuda/cuda_addon.h"
#endif

namespace hnas {
namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemmKernel", gemm_kernel_name());
  o.Set("cpuFeatures", cpu_features_string());
  o.Set("threads", num_threads());
#if defined(HNAS_WITH_CUDA) || defined(HNAS_CUDA_EMULATED)
  cuda::add_cuda_build_info(env, o);
#else
  o.Set("cudaCompiled", false);
  o.Set("cudaEmulated", false);
  o.Set("cudaRuntimeVersion", 0);
  o.Set("cudaArchitectures", "");
  o.Set("cudaCompilerVersion", "");
#endif
  Napi::Object kinds = Napi::Object::New(env);
  kinds.Set("conv_weight", static_cast<int>(ParamKind::kConvWeight));
  kinds.Set("conv_bias", static_cast<int>(ParamKind::kConvBias));
  kinds.Set("linear_weight", static_cast<int>(ParamKind::kLinearWeight));
  kinds.Set("linear_bias", static_cast<int>(ParamKind::kLinearBias));
  kinds.Set("bn_weight", static_cast<int>(ParamKind::kBnWeight));
  kinds.Set("bn_bias", static_cast<int>(ParamKind::kBnBias));
  kinds.Set("bn_running_mean", static_cast<int>(ParamKind::kBnRunningMean));
  kinds.Set("bn_running_var", static_cast<int>(ParamKind::kBnRunningVar));
  o.Set("paramKinds", kinds);
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "setNumThreads(n): n must be a number");
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 0 || n > 1024) throw Napi::RangeError::New(info.Env(), "setNumThreads(n): n must be in [0, 1024]");
  set_num_threads(n);
  return Napi::Number::New(info.Env(), num_threads());
}

// measurePeak(threads, seconds, double) -> GFLOP/s of a register-resident FMA loop.
Napi::Value MeasurePeak(const Napi::CallbackInfo& info) {
  const int threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  const double seconds = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.5;
  const bool dp = info.Length() > 2 && info[2].ToBoolean();
  if (threads < 0 || !(seconds > 0 && seconds <= 60))
    throw Napi::RangeError::New(info.Env(), "measurePeak(threads >= 0, 0 < seconds <= 60, double)");
  return Napi::Number::New(info.Env(), measure_fma_peak_gflops(threads, seconds, dp));
}

// releaseMemory() -> bytes of cached tensor memory given back to the system.
Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(pool_release_cached()));
}

Napi::Value ForceGemmKernel(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "kernel name must be a string");
  try {
    gemm_force_kernel(info[0].As<Napi::String>().Utf8Value());
  } catch (const Error& e) {
    throw make_error(info.Env(), e.code(), e.what());
  }
  return Napi::String::New(info.Env(), gemm_kernel_name());
}

// gemm(transA, transB, M, N, K, alpha, A, B, beta, C): C updated in place;
// A, B, C dense row-major (lda = columns of A as stored). Synchronous: meant
// for tests and benchmarks on bounded sizes.
template <typename T, typename Arr>
void gemm_typed(const Napi::CallbackInfo& info, bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  Arr a = info[6].As<Arr>(), b = info[7].As<Arr>(), c = info[9].As<Arr>();
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  if (static_cast<int64_t>(a.ElementLength()) < M * K || static_cast<int64_t>(b.ElementLength()) < K * N ||
      static_cast<int64_t>(c.ElementLength()) < M * N)
    throw Napi::RangeError::New(info.Env(), "gemm: an operand is smaller than its dimensions");
  gemm(ta ? Trans::kYes : Trans::kNo, tb ? Trans::kYes : Trans::kNo, M, N, K,
       static_cast<T>(info[5].As<Napi::Number>().DoubleValue()), a.Data(), lda, b.Data(), ldb,
       static_cast<T>(info[8].As<Napi::Number>().DoubleValue()), c.Data(), N);
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10) throw Napi::TypeError::New(env, "gemm(transA, transB, M, N, K, alpha, A, B, beta, C)");
  const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
  const int64_t M = info[2].As<Napi::Number>().Int64Value(), N = info[3].As<Napi::Number>().Int64Value(),
                K = info[4].As<Napi::Number>().Int64Value();
  if (M < 0 || N < 0 || K < 0) throw Napi::RangeError::New(env, "gemm: negative dimension");
  if (!info[6].IsTypedArray() || !info[7].IsTypedArray() || !info[9].IsTypedArray())
    throw Napi::TypeError::New(env, "gemm: A, B and C must be typed arrays of one float type");
  const auto type = info[6].As<Napi::TypedArray>().TypedArrayType();
  if (info[7].As<Napi::TypedArray>().TypedArrayType() != type || info[9].As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(env, "gemm: A, B and C must share one float type");
  if (type == napi_float32_array) gemm_typed<float, Napi::Float32Array>(info, ta, tb, M, N, K);
  else if (type == napi_float64_array) gemm_typed<double, Napi::Float64Array>(info, ta, tb, M, N, K);
  else throw Napi::TypeError::New(env, "gemm: operands must be Float32Array or Float64Array");
  return env.Undefined();
}

#if !defined(HNAS_WITH_CUDA) && !defined(HNAS_CUDA_EMULATED)
// CPU-only build: the CUDA queries answer "not compiled in".
Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("status", "not-compiled");
  o.Set("deviceCount", 0);
  o.Set("driverVersion", 0);
  o.Set("runtimeVersion", 0);
  o.Set("message", "this addon was built without CUDA (HNAS_CUDA=OFF or no nvcc)");
  return o;
}
Napi::Value CudaDevices(const Napi::CallbackInfo& info) { return Napi::Array::New(info.Env()); }
#endif

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Network", NetworkWrap::Init(env));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("forceGemmKernel", Napi::Function::New(env, ForceGemmKernel));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("measurePeak", Napi::Function::New(env, MeasurePeak));
  exports.Set("releaseMemory", Napi::Function::New(env, ReleaseMemory));
#if defined(HNAS_WITH_CUDA) || defined(HNAS_CUDA_EMULATED)
  cuda::register_cuda_exports(env, exports);  // cudaStatus, cudaDevices, cudaOps, cpuOps, ...
#else
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus));
  exports.Set("cudaDevices", Napi::Function::New(env, CudaDevices));
#endif
  return exports;
}

}  // namespace hnas

static Napi::Object InitHnasAddon(Napi::Env env, Napi::Object exports) {
  return hnas::Init(env, exports);
}
NODE_API_MODULE(hnas, InitHnasAddon)
