#!/usr/bin/env bash
# A genlab batch under GNU parallel: SHARDS jobs of `genlab batch --shard
# auto` (each told its shard by PARALLEL_SEQ), on this machine's cores, or
# on the hosts of parallel's --sshlogin (e.g. "8/node1,8/node2": 8 jobs on
# each; the hosts need genlab in PATH and the files at the same paths, a
# shared folder); then batch verify.
#
#   scripts/parallel-batch.sh CKPT MANIFEST OUTDIR SHARDS [HOSTS] [-- genlab batch flags]
set -euo pipefail
usage() { echo "usage: $0 CKPT MANIFEST OUTDIR SHARDS [HOSTS] [-- genlab batch flags]" >&2; exit 1; }
[ $# -ge 4 ] || usage
ckpt=$1 manifest=$2 out=$3 shards=$4
shift 4
hosts=: # parallel's name for this machine
if [ $# -gt 0 ] && [ "$1" != "--" ]; then hosts=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
genlab=${GENLAB:-genlab}

# One job per shard, -n0: the inputs only count the jobs. One thread each,
# as many jobs at once as a host has cores.
seq "$shards" | parallel --will-cite -q -n0 --sshlogin "$hosts" --halt soon,fail=1 \
  env GOMAXPROCS=1 "$genlab" batch --shard auto --shards "$shards" \
  --ckpt "$ckpt" --manifest "$manifest" --out "$out" "$@"
verify=()
for a in "$@"; do [ "$a" = --overwrite ] || verify+=("$a"); done
"$genlab" batch verify --shards "$shards" --ckpt "$ckpt" --manifest "$manifest" --out "$out" ${verify[@]+"${verify[@]}"}
