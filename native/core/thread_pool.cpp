#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hnas {
namespace {

thread_local bool t_in_parallel = false;

// About 20-50 µs of polling before a thread blocks on a condition variable.
constexpr int kSpins = 4000;

inline void relax() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// A fixed set of workers woken per parallel_for. Jobs are serialised by
// run_mutex_: two JS async workers that both reach parallel_for take turns
// instead of doubling the thread count.
class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  int size() const { return requested_; }

  void resize(int n) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    if (n <= 0) n = default_threads();
    requested_ = n;
    stop_workers();
    start_workers(n - 1);
  }

  void run(int64_t n, int64_t grain,
           const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
    const int chunks = static_cast<int>(std::min<int64_t>(max_chunks, requested_));
    if (chunks <= 1) {
      run_inline(0, n, fn);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_n_ = n;
      job_chunks_ = chunks;
      pending_.store(chunks - 1);
      error_ = nullptr;
      const uint64_t gen = generation_.load() + 1;
      // Chunk 0 is the caller's; workers claim 1.. under this generation.
      ticket_.store((gen << 32) | 1u);
      generation_.store(gen);
    }
    wake_.notify_all();
    const uint64_t gen = generation_.load();
    execute_chunk(0);
    for (int c; (c = claim(gen)) >= 0;) {
      execute_chunk(c);
      finish_one();
    }
    // Spin briefly before sleeping: most chunks end within microseconds of
    // each other, and a futex round trip costs more than that in a VM.
    for (int spin = 0; spin < kSpins && pending_.load(std::memory_order_acquire) != 0; ++spin) relax();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  Pool() {
    const char* env = std::getenv("HNAS_NUM_THREADS");
    int n = env ? std::atoi(env) : 0;
    requested_ = n > 0 ? n : default_threads();
    start_workers(requested_ - 1);
  }
  ~Pool() { stop_workers(); }

  static int default_threads() {
    unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
  }

  static void run_inline(int64_t b, int64_t e,
                         const std::function<void(int64_t, int64_t)>& fn) {
    const bool was = t_in_parallel;
    t_in_parallel = true;
    try {
      fn(b, e);
    } catch (...) {
      t_in_parallel = was;
      throw;
    }
    t_in_parallel = was;
  }

  void execute_chunk(int c) {
    const int64_t b = job_n_ * c / job_chunks_;
    const int64_t e = job_n_ * (c + 1) / job_chunks_;
    try {
      run_inline(b, e, *job_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void finish_one() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.fetch_sub(1) == 1) done_.notify_all();
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      // Spin for the next job before sleeping (see run()).
      for (int spin = 0; spin < kSpins && generation_.load(std::memory_order_acquire) == seen; ++spin) relax();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
        if (stopping_) return;
        seen = generation_.load();
      }
      for (int c; (c = claim(seen)) >= 0;) {
        execute_chunk(c);
        finish_one();
      }
    }
  }

  // Claims the next chunk of job `generation`, or returns -1 when that job
  // has none left (or a newer job has started). The ticket packs generation
  // and chunk so a late worker can never take a chunk of the wrong job; the
  // job's fields stay fixed until every claimed chunk has finished.
  int claim(uint64_t generation) {
    uint64_t t = ticket_.load();
    for (;;) {
      const uint64_t gen = t >> 32;
      const int chunk = static_cast<int>(t & 0xffffffffu);
      if (gen != (generation & 0xffffffffu) || chunk >= job_chunks_) return -1;
      if (ticket_.compare_exchange_weak(t, t + 1)) return chunk;
    }
  }

  void start_workers(int count) {
    stopping_ = false;
    for (int i = 0; i < count; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  bool stopping_ = false;
  std::exception_ptr error_;
  int requested_ = 1;
};

}  // namespace

int num_threads() { return Pool::instance().size(); }
void set_num_threads(int n) { Pool::instance().resize(n); }
bool in_parallel_region() { return t_in_parallel; }

void parallel_for(int64_t n, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (t_in_parallel || n <= grain) {
    // Nested or tiny: run on this thread. (Not through the pool: its
    // run_mutex_ is held by the outer call.)
    const bool was = t_in_parallel;
    t_in_parallel = true;
    try { fn(0, n); } catch (...) { t_in_parallel = was; throw; }
    t_in_parallel = was;
    return;
  }
  Pool::instance().run(n, grain, fn);
}

}  // namespace hnas
