// The JS class `Network`: one native graph + parameters in float32 or float64.
// Slow methods return Promises (TaskWorker); calls on one network are
// serialised by a mutex, so a JS caller may fire several at once.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>

#include "engine/engine.h"

namespace hnas {

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NetworkWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Describe(const Napi::CallbackInfo& info);
  Napi::Value GetParams(const Napi::CallbackInfo& info);
  Napi::Value SetParams(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Gradient(const Napi::CallbackInfo& info);
  Napi::Value Jacobian(const Napi::CallbackInfo& info);
  Napi::Value Hvp(const Napi::CallbackInfo& info);
  Napi::Value ReluKernel(const Napi::CallbackInfo& info);
  Napi::Value LayerFisher(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  template <typename T> Napi::Value ForwardT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  template <typename T> Napi::Value GradientT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  template <typename T> Napi::Value JacobianT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  template <typename T> Napi::Value HvpT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  template <typename T> Napi::Value ReluKernelT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  template <typename T> Napi::Value LayerFisherT(const Napi::CallbackInfo& info, std::shared_ptr<Engine<T>> e);
  void CheckAlive(Napi::Env env) const;

  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<Engine<float>> f32_;
  std::shared_ptr<Engine<double>> f64_;
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

}  // namespace hnas
