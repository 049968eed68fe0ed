// Measures this machine's FMA peak (GFLOP/s) with register-resident loops on
// the widest vector unit the CPU has, so benchmarks can report "% of peak"
// measured in the same run (the machines are shared: peaks drift).
#pragma once

namespace hnas {

// Best of many short bursts over about `seconds`, on `threads` threads
// (0 = the pool's size). double_precision selects the fp64 loop. Returns 0
// when no FMA unit is known (portable builds).
double measure_fma_peak_gflops(int threads, double seconds, bool double_precision);

}  // namespace hnas
