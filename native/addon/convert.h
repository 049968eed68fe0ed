// TypedArray <-> std::vector conversions and JS error construction for the
// addon. All argument validation here throws Napi::TypeError/RangeError with
// the argument's name; engine failures become Errors carrying `hnasCode`.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace hnas {

// Copies a Float32Array or Float64Array into a vector of T.
template <typename T>
std::vector<T> to_vector(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Float64Array");
  auto ta = v.As<Napi::TypedArray>();
  std::vector<T> out(ta.ElementLength());
  if (ta.TypedArrayType() == napi_float32_array) {
    auto a = v.As<Napi::Float32Array>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(a[i]);
  } else if (ta.TypedArrayType() == napi_float64_array) {
    auto a = v.As<Napi::Float64Array>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(a[i]);
  } else {
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Float64Array");
  }
  return out;
}

inline std::vector<int32_t> to_int32_vector(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

template <typename Vec>
Napi::Value to_typed_array(Napi::Env env, const Vec& v) {
  using T = typename Vec::value_type;
  if constexpr (std::is_same_v<T, float>) {
    auto a = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  } else {
    auto a = Napi::Float64Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  }
}

inline const char* error_code_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidArgument: return "ERR_HNAS_INVALID_ARGUMENT";
    case ErrorCode::kUnsupported: return "ERR_HNAS_UNSUPPORTED";
    case ErrorCode::kNonFinite: return "ERR_HNAS_NON_FINITE";
    case ErrorCode::kOutOfMemory: return "ERR_HNAS_OUT_OF_MEMORY";
    case ErrorCode::kInternal: return "ERR_HNAS_INTERNAL";
  }
  return "ERR_HNAS_INTERNAL";
}

// A JS Error with `code` set to the stable ERR_HNAS_* string.
inline Napi::Error make_error(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Value().Set("code", Napi::String::New(env, error_code_string(code)));
  return e;
}

}  // namespace hnas
