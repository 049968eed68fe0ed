// One AsyncWorker for every slow native call: `work` runs on the libuv pool
// (never touching JS values), `finish` builds the JS result on the main
// thread. Every C++ exception from `work` is caught and turned into a
// rejected Promise with a typed error; none can reach the process.
#pragma once
#include <napi.h>

#include <functional>
#include <new>
#include <string>

#include "addon/convert.h"

namespace hnas {

class TaskWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Finish = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise Start(Napi::Env env, Work work, Finish finish) {
    auto* w = new TaskWorker(env, std::move(work), std::move(finish));
    Napi::Promise p = w->deferred_.Promise();
    w->Napi::AsyncWorker::Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = ErrorCode::kOutOfMemory;
      SetError("out of memory");
    } catch (const std::exception& e) {
      code_ = ErrorCode::kInternal;
      SetError(std::string("internal error: ") + e.what());
    } catch (...) {
      code_ = ErrorCode::kInternal;
      SetError("internal error: unknown exception");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(finish_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(make_error(env, ErrorCode::kInternal, e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
  }

 private:
  TaskWorker(Napi::Env env, Work work, Finish finish)
      : Napi::AsyncWorker(env, "hnas"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), finish_(std::move(finish)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Finish finish_;
  ErrorCode code_ = ErrorCode::kInternal;
};

}  // namespace hnas
