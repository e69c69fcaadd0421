#!/usr/bin/env bash
# Rebuild the shipped models in botorch_nap/pretrained/ from scratch (CPU, one thread each).
#
#   benchmarks/build_pretrained.sh [hpobench_xgb|gp_prior|lcbench ...]   # default: all three
#
# Each model: NP pretraining (the NP-EI model and PPO's warm start), PPO + aux NP loss, then
# `botorch-nap ship` copies both into the package and writes MODEL_CARD.md with these very
# commands, the training time and the validation figures. Runs go to $RUNS (default
# runs/ship); a killed run continues with the same command plus --resume. Data come from
# $DATA (default ../shared/data). About 30 minutes per model on one core.
set -euo pipefail
export OMP_NUM_THREADS=1
RUNS=${RUNS:-runs/ship}
DATA=${DATA:-../shared/data}
NET="--d-model 64 --n-layers 3 --d-ff 128"
PPO="--reward vs_npei --early-weight 1.0 --top-k 5 --lr 1e-4 --val-every 5 --checkpoint-every 2"

build() {  # name, description, family args, NP steps, PPO iterations
    local name=$1 desc=$2 fam=$3 steps=$4 iters=$5
    local np_cmd="botorch-nap pretrain $fam $NET --lr 1e-3 --steps $steps --val-every 200 --seed 0 --out $RUNS/${name}_np"
    local nap_cmd="botorch-nap train $fam --init-from $RUNS/${name}_np --iterations $iters $PPO --seed 0 --out $RUNS/${name}_nap"
    echo "== $name"
    [ -f "$RUNS/${name}_np/weights.pt" ] && [ -f "$RUNS/${name}_np/DONE" ] || { $np_cmd && touch "$RUNS/${name}_np/DONE"; }
    [ -f "$RUNS/${name}_nap/weights.pt" ] && [ -f "$RUNS/${name}_nap/DONE" ] || { $nap_cmd && touch "$RUNS/${name}_nap/DONE"; }
    botorch-nap ship "$name" --np "$RUNS/${name}_np" --nap "$RUNS/${name}_nap" \
        --description "$desc" --command "export OMP_NUM_THREADS=1" \
        --command "$np_cmd" --command "$nap_cmd" \
        --command "botorch-nap ship $name --np $RUNS/${name}_np --nap $RUNS/${name}_nap"
}

models=("$@")
[ ${#models[@]} -eq 0 ] && models=(hpobench_xgb gp_prior lcbench)
for m in "${models[@]}"; do
    case $m in
        hpobench_xgb) build hpobench_xgb \
            "48 XGBoost HPO tasks from the NAP paper (6 dims, about 1000 evaluated configurations each; dims 2-5 in log10), split as the paper: train 0-19, validation 20-33, test 34-47. Pool model: use it with optimize_acqf_discrete." \
            "--family hpobench_xgb --data-dir $DATA" 5000 150 ;;
        gp_prior) build gp_prior \
            "One dimension-agnostic model for continuous problems of 2 to 6 dims: trained on GP-prior (RBF, ARD, lengthscales 0.1-0.6) functions of a random dimension k in 2..6, inputs zero-padded to 6 dims (NAPConfig.min_dim = 2). One model instead of five because the tasks share their structure across d and one CPU-hour of training serves all five; the padding is done by the network, so a 3-d problem is passed as it is." \
            "--family gp_prior --family-kw dim=6 min_dim=2" 6000 150 ;;
        lcbench) build lcbench \
            "LCBench (YAHPO Gym surrogate, 7 continuous dims, log-scaled where YAHPO says so), continuous: trained on the training instances' surrogates." \
            "--family lcbench --data-dir $DATA" 4000 100 ;;
        *) echo "unknown model $m" >&2; exit 2 ;;
    esac
done
