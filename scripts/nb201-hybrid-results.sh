#!/usr/bin/env bash
# The NAS-Bench-201 results of docs/results.md: HNAS and the baselines, 10
# seeds × 20 evaluations each, benchmark evaluator (12-epoch CIFAR-10-valid
# feedback and its recorded training cost), the bundled metric table.
# Writes docs/figures/hybrid-nb201.json (every run) and .svg (best-so-far
# test accuracy against search cost). Run logs go to runs/ (resumable).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/figures
node bin/hnas.js hybrid --space nb201 --evaluator benchmark --iters 20 --seed 0 --repeat 10 --baselines \
  --svg docs/figures/hybrid-nb201.svg --format json > docs/figures/hybrid-nb201.json
node bin/hnas.js hybrid --space nb201 --evaluator benchmark --iters 20 --seed 0 --repeat 10 --baselines --format table
