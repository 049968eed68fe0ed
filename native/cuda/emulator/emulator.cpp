// The host emulator behind emulator.h (HNAS_CUDA=EMULATE builds only).
#include "cuda/emulator/emulator.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"

thread_local uint3 threadIdx{0, 0, 0};
thread_local uint3 blockIdx{0, 0, 0};
thread_local dim3 blockDim{1, 1, 1};
thread_local dim3 gridDim{1, 1, 1};

namespace hnas {
namespace emu {
namespace {

// ---- fibers ----------------------------------------------------------------
// Every CUDA thread of a block is a fiber on the launching OS thread (see
// run_grid). A switch between fibers must be cheap: a block reduction of 256
// threads switches 512 times per barrier. glibc's swapcontext makes a
// signal-mask system call per switch (70% of the emulator's time when it was
// used), so x86-64 has a switch of its own that saves only what the SysV ABI
// asks a callee to keep (rbx, rbp, r12–r15, the stack pointer, the MXCSR and
// x87 control words); other architectures use ucontext. (A fiber starts by a
// `ret` into its entry, which a process running with CET shadow stacks — off
// unless enabled through glibc's tunables — would refuse; the emulator is a
// developer tool and CI does not enable them.) A C++ exception escaping a
// kernel ends the process, as it would on a GPU build that cannot throw
// from device code.
#if defined(__x86_64__)
extern "C" void hnas_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .pushsection .text, "ax", @progbits
  .globl hnas_emu_switch
  .hidden hnas_emu_switch
  .type hnas_emu_switch, @function
hnas_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw (%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size hnas_emu_switch, .-hnas_emu_switch
  .popsection
)");

struct FiberContext {
  void* sp = nullptr;
};

// A fresh fiber on [stack, stack + size) that starts in entry(), which must
// never return (it switches away at its end).
void prepare_fiber(FiberContext& f, char* stack, size_t size, void (*entry)()) {
  // The frame hnas_emu_switch pops: control words, r15..rbp, then `ret` to
  // entry with the stack as after a call (rsp ≡ 8 mod 16), a null return
  // address above it.
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 80);
  uint32_t mxcsr;
  uint16_t fpcw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  std::memset(frame, 0, 80);
  std::memcpy(reinterpret_cast<char*>(frame), &fpcw, sizeof fpcw);
  std::memcpy(reinterpret_cast<char*>(frame) + 8, &mxcsr, sizeof mxcsr);
  frame[8] = reinterpret_cast<uint64_t>(entry);  // after 16 bytes of control words and 6 registers
  f.sp = frame;
}

void switch_fiber(FiberContext& from, FiberContext& to) { hnas_emu_switch(&from.sp, to.sp); }
#else
struct FiberContext {
  ucontext_t uc;
};

void prepare_fiber(FiberContext& f, char* stack, size_t size, void (*entry)()) {
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = stack;
  f.uc.uc_stack.ss_size = size;
  f.uc.uc_link = nullptr;
  makecontext(&f.uc, entry, 0);
}

void switch_fiber(FiberContext& from, FiberContext& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---- the block scheduler -----------------------------------------------------
// The scheduler runs each fiber of a block until it returns from the kernel
// or reaches __syncthreads(), then the next; a barrier opens once every fiber
// of the block has arrived (OS threads per CUDA thread, the first design,
// made the engine parity suite take ~40 min).
enum class FiberState { kReady, kAtBarrier, kDone };

struct Fiber {
  FiberContext context;
  FiberState state = FiberState::kReady;
  uint3 thread_index{0, 0, 0};
};

// The running launch (one at a time: g_launch_mutex).
struct LaunchState {
  FiberContext scheduler;
  std::vector<Fiber> fibers;
  size_t current = 0;
  const std::function<void()>* body = nullptr;
  bool divergent = false;
};

// Generous for kernels with small local arrays (the GEMM's register tiles);
// only the touched part is ever committed. Below each stack lies an
// inaccessible guard page, so an overflow faults instead of corrupting memory.
constexpr size_t kFiberStack = size_t(256) << 10;

class FiberStack {
 public:
  FiberStack() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, page_ + kFiberStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail(ErrorCode::kOutOfMemory, "emulator: cannot map a fiber stack");
    base_ = static_cast<char*>(p);
    mprotect(base_, page_, PROT_NONE);
  }
  ~FiberStack() { munmap(base_, page_ + kFiberStack); }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  char* bottom() const { return base_ + page_; }

 private:
  char* base_ = nullptr;
  size_t page_ = 0;
};

LaunchState* g_launch = nullptr;
std::mutex g_launch_mutex;

[[noreturn]] void fiber_main() {
  LaunchState& L = *g_launch;
  (*L.body)();
  Fiber& self = L.fibers[L.current];
  self.state = FiberState::kDone;
  switch_fiber(self.context, L.scheduler);
  std::abort();  // a finished fiber is never resumed
}

}  // namespace

void run_grid(dim3 grid, dim3 block, const char* name, const std::function<void()>& body) {
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  const uint64_t nblocks = uint64_t(grid.x) * grid.y * grid.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64 || grid.y > 65535 || grid.z > 65535)
    fail(ErrorCode::kInternal, std::string("emulator: invalid launch configuration for ") + name);
  if (nblocks == 0) fail(ErrorCode::kInternal, std::string("emulator: empty grid for ") + name);
  std::lock_guard<std::mutex> launch_lock(g_launch_mutex);
  // Fiber stacks are kept between launches (allocating 256 of them per launch
  // would cost more than the kernels).
  static thread_local std::vector<std::unique_ptr<FiberStack>> stacks;
  while (stacks.size() < nthreads) stacks.push_back(std::make_unique<FiberStack>());

  LaunchState L;
  L.body = &body;
  L.fibers.resize(nthreads);
  for (unsigned t = 0; t < nthreads; ++t)
    L.fibers[t].thread_index = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
  const uint3 ti = threadIdx, bi = blockIdx;
  const dim3 bd = blockDim, gd = gridDim;
  blockDim = block;
  gridDim = grid;
  g_launch = &L;
  for (uint64_t b = 0; b < nblocks && !L.divergent; ++b) {
    blockIdx = uint3{static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
                     static_cast<unsigned>(b / (uint64_t(grid.x) * grid.y))};
    for (size_t t = 0; t < nthreads; ++t) {
      Fiber& f = L.fibers[t];
      f.state = FiberState::kReady;
      prepare_fiber(f.context, stacks[t]->bottom(), kFiberStack, fiber_main);
    }
    // Rounds: every unfinished fiber runs to its next barrier or its end.
    for (;;) {
      size_t done = 0, waiting = 0;
      for (size_t t = 0; t < nthreads; ++t) {
        Fiber& f = L.fibers[t];
        if (f.state == FiberState::kDone) continue;
        f.state = FiberState::kReady;
        L.current = t;
        threadIdx = f.thread_index;
        switch_fiber(L.scheduler, f.context);
      }
      for (const Fiber& f : L.fibers) (f.state == FiberState::kDone ? done : waiting) += 1;
      if (waiting == 0) break;
      // A barrier some threads reached after others returned: undefined on a GPU.
      if (done > 0) {
        L.divergent = true;
        break;
      }
    }
  }
  g_launch = nullptr;
  threadIdx = ti;
  blockIdx = bi;
  blockDim = bd;
  gridDim = gd;
  if (L.divergent)
    fail(ErrorCode::kInternal, std::string("emulator: __syncthreads() not reached by every thread of a block in ") + name);
}

}  // namespace emu
}  // namespace hnas

void __syncthreads() {
  auto& L = *hnas::emu::g_launch;
  auto& f = L.fibers[L.current];
  f.state = hnas::emu::FiberState::kAtBarrier;
  hnas::emu::switch_fiber(f.context, L.scheduler);
}

// --- runtime -------------------------------------------------------------------
namespace {
std::mutex g_stream_mutex;
int g_next_stream = 1;
}  // namespace

cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaPeekAtLastError() { return cudaSuccess; }
const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  *s = new CUstream_st{g_next_stream++};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
