#!/usr/bin/env bash
# The 300-architecture NAS-Bench-201 correlation study of docs/metrics.md:
# scores 300 uniformly drawn cells (unique benchmark indices, seed 0) with
# every metric at batch 64 on the bundled CIFAR-10 sample, te_nas_cond on
# those whose index is a multiple of 5 (about 60; it needs one backward pass per sample: ~15 s per cell
# on 2 cores), then correlates with CIFAR-10 test accuracy and runs the
# unification report. Resumable: re-running continues the JSONL files.
#
#   scripts/nb201-correlation.sh [OUT_DIR]   (default data/scores; figures in docs/figures)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/scores}
figures=docs/figures
hnas() { node bin/hnas.js "$@"; }
mkdir -p "$out" "$figures"

metrics=ntk_trace,ntk_cond,grad_norm,grad_norm_global,snip,grasp,plain,fisher,synflow,log_synflow,jacob_cov,naswot,naswot_distinct,knas,zico,params,macs
hnas score --sample 300 --seed 0 --batch 64 --metrics "$metrics" --out "$out/nb201-sample300-seed0.jsonl"
hnas score --sample 300 --seed 0 --batch 64 --metrics te_nas_cond --shard 0/5 --out "$out/nb201-sample300-seed0-tenas.jsonl"

scores=("$out/nb201-sample300-seed0.jsonl" "$out/nb201-sample300-seed0-tenas.jsonl")
hnas correlate --scores "${scores[@]}" --truth c10_test_200 --plots "$figures/correlate"
hnas correlate --scores "${scores[@]}" --truth c10_test_200 --format csv > "$figures/correlate-c10_test_200.csv"
hnas unify --scores "${scores[@]}" --svg-dir "$figures/unify"
