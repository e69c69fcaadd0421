#!/bin/bash
# Issue 17: `botorch-nap fit` on families held out from setting its rules, then the test split.
#   benchmarks/check_fit.sh [ROOT] [FAMILY ...]     (ROOT default ~/fit_check)
# Resumable: rerun the same command; fit and benchmark both continue where they stopped.
set -euo pipefail
ROOT=${1:-$HOME/fit_check}
shift || true
FAMILIES=${*:-"ackley4 levy3 styblinski5 hartmann6_few rbv2_rpart"}
BIN=${BOTORCH_NAP:-.venv/bin/botorch-nap}
export OMP_NUM_THREADS=1
python=${PYTHON:-.venv/bin/python}
$python benchmarks/build_fit_families.py --out "$ROOT/families" --data-dir ../shared/data
for fam in $FAMILIES; do
  $BIN fit "$ROOT/families/$fam" --minutes 30 --out "$ROOT/models/$fam" --no-progress || true
  $BIN benchmark --family "$ROOT/families/$fam" --split test --seeds 10 --n-init 5 --steps 25 \
    --methods "nap:$ROOT/models/$fam,gp-ei,random" --workers 1 --threads 1 --no-progress \
    --out "$ROOT/results/$fam.json"
done
