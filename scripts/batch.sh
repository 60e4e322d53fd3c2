#!/usr/bin/env bash
# Generate every image of a manifest across the cores, one `genlab batch`
# shard per core, then write an index of what was made.
#
#   scripts/batch.sh CKPT MANIFEST OUTDIR [SHARDS] [-- extra genlab batch flags]
#
# SHARDS defaults to the number of cores; each shard runs with GOMAXPROCS=1
# so the shards do not fight over the cores. Rerunning after a stop skips
# the images already written. The index, OUTDIR/index.csv, has one row per
# image: file,index,seed,class (class empty when unconditional).
set -euo pipefail

usage() { echo "usage: $0 CKPT MANIFEST OUTDIR [SHARDS] [-- genlab batch flags]" >&2; exit 1; }
[ $# -ge 3 ] || usage
ckpt=$1 manifest=$2 out=$3
shift 3
shards=$(nproc)
if [ $# -gt 0 ] && [ "$1" != "--" ]; then shards=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "$0: SHARDS must be a positive number, got $shards" >&2; exit 1; }

genlab=${GENLAB:-$(dirname "$0")/../bin/genlab}
[ -x "$genlab" ] || genlab=$(command -v genlab) || { echo "$0: no genlab binary (run make build, or set GENLAB)" >&2; exit 1; }

mkdir -p "$out/logs"
pids=()
for i in $(seq 1 "$shards"); do
  GOMAXPROCS=1 "$genlab" batch --ckpt "$ckpt" --manifest "$manifest" --out "$out" --shard "$i/$shards" "$@" \
    >"$out/logs/shard-$i.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "$0: shard $((i + 1))/$shards failed:" >&2
    tail -n 1 "$out/logs/shard-$((i + 1)).log" >&2
    failed=1
  fi
done
[ $failed = 0 ] || exit 1

# File names are NNNNN-SEED[-cK].png (docs/formats.md); the index is made from them.
{
  echo "file,index,seed,class"
  for f in "$out"/[0-9]*.png; do
    [ -e "$f" ] || continue
    b=$(basename "$f" .png)
    IFS=- read -r idx seed class <<<"$b"
    echo "$(basename "$f"),$((10#$idx)),$seed,${class#c}"
  done
} >"$out/index.csv.tmp" && mv "$out/index.csv.tmp" "$out/index.csv"
echo "wrote $(($(wc -l <"$out/index.csv") - 1)) images across $shards shards to $out; index: $out/index.csv"
