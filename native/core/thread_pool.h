// One process-wide pool of worker threads shared by GEMM and the elementwise
// loops. Nested parallel_for calls (from inside a worker) run inline on the
// calling thread, so the pool never oversubscribes the cores.
#pragma once
#include <cstdint>
#include <functional>

namespace hnas {

// Number of threads parallel_for uses (the calling thread included).
int num_threads();
// Sets the thread count; 0 means "one per hardware thread". Takes effect for
// later calls. Environment: HNAS_NUM_THREADS is read once at first use.
void set_num_threads(int n);

// Splits [0, n) into at most num_threads() contiguous ranges and runs
// fn(begin, end) for each, blocking until all are done. Exceptions thrown by
// fn are rethrown (the first one) on the calling thread. grain is the smallest
// range worth giving a thread.
void parallel_for(int64_t n, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

// True on a pool worker (or inside any parallel_for body).
bool in_parallel_region();

}  // namespace hnas
