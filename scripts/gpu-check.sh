#!/usr/bin/env bash
# The GPU check of the CUDA path (docs/cuda.md), for a machine with a CUDA
# device: builds the addon with CUDA (HNAS_CUDA=ON), runs the CUDA build,
# op parity, engine parity and fixture tests (they must run, not skip), benchmarks the
# CUDA GEMM and the engine on the device beside the CPU (decomposed Θ, H·v, the
# HNAS metric pair over sampled NB201 cells, training steps), and prints a
# short table. Designed to finish within 8 minutes on one H200; every phase
# is timed.
#
#   scripts/gpu-check.sh [--skip-build] [--out DIR]
#
# Environment: CUDAARCHS (default: CMake's, 80-real;90-real;90-virtual),
# CMAKE_BUILD_PARALLEL_LEVEL (default: all cores). Results (logs, JSON) go to
# DIR (default runs/gpu-check-<date>).
set -euo pipefail

cd "$(dirname "$0")/.."
skip_build=0
out="runs/gpu-check-$(date +%Y%m%d-%H%M%S)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) skip_build=1 ;;
    --out) out="$2"; shift ;;
    *) echo "usage: scripts/gpu-check.sh [--skip-build] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"

declare -a phase_names=() phase_secs=() phase_status=()
# phase NAME LOGFILE CMD...: runs CMD with output to the terminal and LOGFILE,
# records its time; stops the script on failure (after printing the table).
phase() {
  local name="$1" log="$2"; shift 2
  echo
  echo "== ${name}"
  local t0=$SECONDS
  set +e
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  phase_names+=("$name"); phase_secs+=($((SECONDS - t0)))
  if [[ $rc -ne 0 ]]; then
    phase_status+=("FAILED (exit $rc, see $log)")
    print_table
    exit "$rc"
  fi
  phase_status+=("ok")
}

print_table() {
  echo
  echo "== gpu-check summary (${out})"
  printf '| %-34s | %7s | %s\n' "phase" "seconds" "result"
  printf '|%s|%s|%s\n' "------------------------------------" "---------" "--------"
  for i in "${!phase_names[@]}"; do
    printf '| %-34s | %7s | %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_status[$i]}"
  done
  if [[ -f "$out/cuda-bench.json" ]]; then
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(`\nCUDA GEMM on ${r.device.name} (TFLOP/s, device-resident, best of runs)`);
      console.log("| shape | role | fp32 | fp64 |");
      console.log("|---|---|---|---|");
      const by = {};
      for (const g of r.gemm) (by[g.shape + "|" + g.role] ??= {})[g.dtype] = g.tflops.toFixed(2) + " (" + g.tile + ")";
      for (const [k, v] of Object.entries(by)) { const [s, role] = k.split("|"); console.log(`| ${s} | ${role} | ${v.fp32 ?? "-"} | ${v.fp64 ?? "-"} |`); }
      for (const c of r.checks) console.log(`check ${c.size}³ ${c.dtype} vs CPU: max|err|/max|ref| ${c.relErr.toExponential(2)}`);
    ' "$out/cuda-bench.json"
  fi
  if [[ -f "$out/engine-bench.json" ]]; then
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(`\nEngine on ${r.device} vs the CPU, batch ${r.batch}, float32`);
      console.log(`| measure | cpu | cuda | ratio |`);
      console.log(`|---|---|---|---|`);
      console.log(`| decomposed Θ, NB201 13714 (s) | ${r.theta.cpu.toFixed(4)} | ${r.theta.cuda.toFixed(4)} | ${(r.theta.cpu / r.theta.cuda).toFixed(1)}× |`);
      const c = r.scoring.cpu, g = r.scoring.cuda;
      console.log(`| HNAS pair, arch/s (cells) | ${c.archsPerSecond.toFixed(2)} (${c.cells}) | ${g.archsPerSecond.toFixed(2)} (${g.cells}) | ${(g.archsPerSecond / c.archsPerSecond).toFixed(1)}× |`);
      console.log(`| all 15,625 NB201 cells (min) | ${(15625 / c.archsPerSecond / 60).toFixed(1)} | ${(15625 / g.archsPerSecond / 60).toFixed(2)} | target < 2 |`);
      for (const net of [...new Set(r.training.map((t) => t.network))]) {
        const cpu = r.training.find((t) => t.network === net && t.device === "cpu"), gpu = r.training.find((t) => t.network === net && t.device === "cuda");
        console.log(`| training images/s, ${net} | ${cpu.imagesPerSecond.toFixed(0)} | ${gpu.imagesPerSecond.toFixed(0)} | ${(gpu.imagesPerSecond / cpu.imagesPerSecond).toFixed(1)}× |`);
      }
    ' "$out/engine-bench.json" || true
  fi
}

echo "gpu-check: $(date -u +%FT%TZ) on $(hostname), output in $out"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv | tee "$out/nvidia-smi.csv"
else
  echo "gpu-check: nvidia-smi not found (continuing; the addon reports what the CUDA runtime sees)"
fi

if [[ $skip_build -eq 0 ]]; then
  phase "build (HNAS_CUDA=ON)" "$out/build.log" \
    env HNAS_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" node scripts/build-addon.mjs --force
fi

# The device must be visible, or the parity tests would only skip.
phase "hnas info (device present?)" "$out/info.log" \
  node --import tsx --input-type=module -e '
    const { main } = await import("./src/cli/cli.ts");
    await main(["node", "hnas", "info"]);
    const { resolveDevice } = await import("./src/native/device.ts");
    resolveDevice("cuda"); // throws DeviceUnavailableError naming why
  '

phase "CUDA build + op and engine parity tests" "$out/parity.log" \
  env HNAS_DEVICE= HNAS_TEST_EMULATED=0 npx vitest run test/native/cudaBuild.test.ts test/native/cudaParity.test.ts test/native/cudaEngineParity.test.ts \
    test/native/cudaFixtures.test.ts test/native/deviceOption.test.ts test/native/binding.test.ts test/unit/buildSources.test.ts
if grep -q "device parity tests skipped\|cudaEngineParity: skipped\|cudaFixtures: skipped" "$out/parity.log"; then
  phase_names+=("parity tests ran on the device"); phase_secs+=(0); phase_status+=("FAILED (skipped)")
  print_table
  exit 1
fi

phase "CUDA GEMM benchmark" "$out/cuda-bench.log" \
  node --import tsx scripts/cuda-bench.ts --json "$out/cuda-bench.json"

phase "engine on the device vs the CPU" "$out/engine-bench.log" \
  node --import tsx scripts/engine-device-bench.ts --device cuda --cells 512 --cpu-cells 4 --json "$out/engine-bench.json"

print_table
echo
echo "gpu-check: passed in ${SECONDS} s"
