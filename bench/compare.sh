#!/usr/bin/env bash
# genlab's reference-UNet training and sampling steps beside PyTorch's,
# measured on this machine in one run (SPEC.md, "Performance benchmark"):
#
#   bench/compare.sh                 # COUNT=5 go test runs, N=10 PyTorch steps, 2 threads
#   COUNT=10 N=20 bench/compare.sh
#
# PYTHON overrides the interpreter (/usr/bin/python3, Debian's python3-torch).
# genlab's figures are the medians over COUNT runs of
#   go test -run '^$' -bench 'ReferenceUNet' -count COUNT ./models/
# (batch 64; genlab uses GOMAXPROCS cores, by default all of them), PyTorch's
# the medians of N steps of bench/unet_step.py (--threads THREADS, default
# 2). The machine's other load moves both; compare ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5}
N=${N:-10}
THREADS=${THREADS:-2}
PY=${PYTHON:-/usr/bin/python3} # PyTorch from Debian: python3-torch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
cpu=${cpu:-$(uname -m)}
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

echo "== genlab: go test -run '^\$' -bench 'ReferenceUNet' -count $COUNT ./models/"
go test -run '^$' -bench 'ReferenceUNet' -count "$COUNT" ./models/ | tee "$tmp/go.txt"

torch=no
if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
	torch=yes
	echo "== PyTorch: $PY bench/unet_step.py --threads $THREADS --batch 64 --n $N"
	"$PY" bench/unet_step.py --threads "$THREADS" --batch 64 --n "$N" | tee "$tmp/py.txt"
fi

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
go_ms() { # median ms/op of BenchmarkReferenceUNet$1
	awk -v b="^BenchmarkReferenceUNet$1(-[0-9]+)?\$" '$1 ~ b { for (i = 2; i <= NF; i++) if ($i == "ns/op") print $(i - 1) / 1e6 }' "$tmp/go.txt" | median
}
py_ms() { [ "$torch" = yes ] && awk -v k="$1" '$1 == k { print $2 }' "$tmp/py.txt"; true; }

blas=$(sed -n 's/.*BLAS: //p' "$tmp/go.txt" | head -1)
echo
echo "Reference UNet (612,737 parameters), batch 64, 28x28x1"
printf '%-8s %12s %12s %16s\n' step "genlab ms" "PyTorch ms" "genlab/PyTorch"
for step in Train Sample; do
	g=$(go_ms "${step}Step")
	p=$(py_ms "$(echo "$step" | tr 'A-Z' 'a-z')_step_ms")
	if [ -n "$g" ] && [ -n "$p" ]; then
		r=$(awk -v g="$g" -v p="$p" 'BEGIN { printf "%.2f", g / p }')
	else
		r="-"
	fi
	printf '%-8s %12s %12s %16s\n' "$(echo "$step" | tr 'A-Z' 'a-z')" \
		"$(awk -v v="${g:-}" 'BEGIN { if (v == "") print "-"; else printf "%.1f", v }')" "${p:--}" "$r"
done
echo
echo "genlab: median of $COUNT go test runs; BLAS ${blas:-unknown}"
if [ "$torch" = yes ]; then
	echo "PyTorch $("$PY" -c 'import torch; print(torch.__version__)'): median of $N steps, $THREADS threads"
else
	echo "PyTorch: not installed for $PY; to compare, install Debian's build: apt-get install -y python3-torch"
fi
echo "CPU: $cpu ($cores cores); load average before: $load"
