#!/usr/bin/env bash
# A genlab batch as a Slurm job array: each array task makes one shard;
# `--shard auto` reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.
#
#   sbatch scripts/slurm-batch.sh CKPT MANIFEST OUTDIR [genlab batch flags]
#   sbatch --array=1-32 scripts/slurm-batch.sh ...     (32 shards instead of 8)
#
# OUTDIR must be on a filesystem every node sees. Afterwards:
#   genlab batch verify --manifest MANIFEST --out OUTDIR --shards 8
# and rerun the shards it names (task IDs are then the shard numbers):
#   sbatch --array=3,6 --export=ALL,GENLAB_SHARDS=8 scripts/slurm-batch.sh ...
#SBATCH --job-name=genlab-batch
#SBATCH --array=1-8
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --output=genlab-batch-%A_%a.log
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: sbatch $0 CKPT MANIFEST OUTDIR [genlab batch flags]" >&2; exit 1; }
ckpt=$1 manifest=$2 out=$3
shift 3
exec "${GENLAB:-genlab}" batch --shard auto --ckpt "$ckpt" --manifest "$manifest" --out "$out" "$@"
