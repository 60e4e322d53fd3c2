#!/usr/bin/env bash
# genlab's reference-UNet steps beside PyTorch's, measured on this machine
# in one run, interleaved so that a change of load moves both sides alike
# (SPEC.md, "Performance benchmark"):
#
#   bench/compare.sh                      # 5 rounds of 5 steps, batch 64, then batch 1
#   ROUNDS=9 STEPS=10 bench/compare.sh
#
# Each round runs genlab's training and sampling steps (go test -bench on a
# test binary built once), then PyTorch's (bench/unet_step.py, THREADS
# threads, default 2), and takes the ratio genlab/PyTorch of that round. The
# table gives each side's median over the rounds and the median and range
# of the per-round ratios: a ratio is a figure only when the range is
# narrow and the load average (printed before and after) stayed below the
# number of cores. Then the same, interleaved, for the sampling step of one
# image (batch 1: the latency of each step of the app's live preview).
# Then, E2E_ROUNDS times (default 3), end to end: `genlab sample` of E2E_N
# images (default 64) of one class in one batch at DDIM 50 (eta 0) under
# classifier-free guidance 2 (a conditional and an unconditional pass per
# step), then bench/ddim_sample.py, the same sampler loop on the PyTorch
# twin (checked against genlab's by bench/torch_test.go), both from one
# untrained class-conditional checkpoint of the reference widths written
# by `go run ./bench/ckpt` (the weights' values do not change the speed).
# Row "sample DDIM-50 b64 (img/s)": images per second, and the ratio of
# genlab's time to PyTorch's per round. genlab's time is the wall time of
# the whole process (start, checkpoint load, sampling, writing the PNGs);
# PyTorch's is the wall time of its process too (interpreter, import torch,
# checkpoint load, sampling, pixels kept in memory); the footer gives
# PyTorch's sampling loop alone.
#
# GFLOP/s: the forward pass's FLOPs as bench/unet_step.py counts them
# (convolutions, linear layers, attention products; a multiply-add is 2),
# a training step taken as 3 forward passes. The CPU's peak: cores x clock
# x float32 lanes (16 with AVX-512, 8 with AVX2) x 2 (FMA) x FMA_UNITS
# (default 2, what current x86 server cores have; set it for yours).
#
# PYTHON overrides the interpreter (/usr/bin/python3, Debian's python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-5}
STEPS1=${STEPS1:-40}
E2E_ROUNDS=${E2E_ROUNDS:-3}
E2E_N=${E2E_N:-64}
THREADS=${THREADS:-2}
FMA_UNITS=${FMA_UNITS:-2}
PY=${PYTHON:-/usr/bin/python3} # PyTorch from Debian: python3-torch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
cpu=${cpu:-$(uname -m)}
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
mhz=$(awk -F: '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo 2>/dev/null || true)
if [ -z "$mhz" ]; then # some VMs leave "cpu MHz" out; BogoMIPS is twice the clock on x86
	mhz=$(awk -F: '/^bogomips/ { printf "%.0f", $2 / 2; exit }' /proc/cpuinfo 2>/dev/null || echo 0)
fi
lanes=4
case " $flags " in *" avx512f "*) lanes=16 ;; *" avx2 "*) lanes=8 ;; esac
peak=$(awk -v c="$cores" -v m="$mhz" -v l="$lanes" -v f="$FMA_UNITS" 'BEGIN { printf "%.0f", c * m / 1000 * l * 2 * f }')

if ! [ -x "$PY" ] || ! "$PY" -c 'import torch' 2>/dev/null; then
	echo "bench: PyTorch is not installed for $PY; install Debian's build: apt-get install -y python3-torch" >&2
	exit 1
fi

load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.2f-%.2f", lo, hi }'; }
go_ms() { # ms/op of BenchmarkReferenceUNet$1 in file $2
	awk -v b="^BenchmarkReferenceUNet$1(-[0-9]+)?\$" '$1 ~ b { for (i = 2; i <= NF; i++) if ($i == "ns/op") print $(i - 1) / 1e6 }' "$2"
}
py_val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "building the genlab benchmark (go test -c ./models/)"
go test -c -o "$tmp/models.test" ./models/
echo "building genlab and the end-to-end benchmark's checkpoint"
go build -o "$tmp/genlab" ./cmd/genlab
go run ./bench/ckpt "$tmp/e2e.safetensors"
load_before=$(load)

# Batch 64: training and sampling steps.
for r in $(seq 1 "$ROUNDS"); do
	"$tmp/models.test" -test.run '^$' -test.bench 'ReferenceUNet(Train|Sample)Step$' \
		-test.benchtime "${STEPS}x" >"$tmp/go.$r"
	"$PY" bench/unet_step.py --threads "$THREADS" --batch 64 --n "$STEPS" >"$tmp/py.$r"
	for step in Train Sample; do
		g=$(go_ms "${step}Step" "$tmp/go.$r")
		p=$(py_val "$(echo "$step" | tr 'A-Z' 'a-z')_step_ms" "$tmp/py.$r")
		echo "$g" >>"$tmp/g.$step"
		echo "$p" >>"$tmp/p.$step"
		awk -v g="$g" -v p="$p" 'BEGIN { print g / p }' >>"$tmp/r.$step"
	done
	printf 'round %d: train %.1f / %.1f ms, sample %.1f / %.1f ms (load %s)\n' "$r" \
		"$(tail -1 "$tmp/g.Train")" "$(tail -1 "$tmp/p.Train")" "$(tail -1 "$tmp/g.Sample")" "$(tail -1 "$tmp/p.Sample")" "$(load)"
done
flops64=$(py_val forward_flops "$tmp/py.1")

# Batch 1: the sampling step's latency.
for r in $(seq 1 "$ROUNDS"); do
	"$tmp/models.test" -test.run '^$' -test.bench 'ReferenceUNetSampleStepBatch1$' \
		-test.benchtime "${STEPS1}x" >"$tmp/go1.$r"
	"$PY" bench/unet_step.py --threads "$THREADS" --batch 1 --n "$STEPS1" --sample-only >"$tmp/py1.$r"
	g=$(go_ms "SampleStepBatch1" "$tmp/go1.$r")
	p=$(py_val sample_step_ms "$tmp/py1.$r")
	echo "$g" >>"$tmp/g.Batch1"
	echo "$p" >>"$tmp/p.Batch1"
	awk -v g="$g" -v p="$p" 'BEGIN { print g / p }' >>"$tmp/r.Batch1"
done
flops1=$(py_val forward_flops "$tmp/py1.1")

# End to end: genlab sample against the PyTorch twin's DDIM loop.
now() { date +%s.%N; }
for r in $(seq 1 "$E2E_ROUNDS"); do
	rm -rf "$tmp/e2e-out"
	t0=$(now)
	"$tmp/genlab" sample diffusion --ckpt "$tmp/e2e.safetensors" --n "$E2E_N" --batch "$E2E_N" --sampler ddim \
		--steps 50 --eta 0 --class 3 --guidance 2 --out "$tmp/e2e-out" >/dev/null 2>"$tmp/e2e-go.err" ||
		{ cat "$tmp/e2e-go.err" >&2; exit 1; }
	t1=$(now)
	"$PY" bench/ddim_sample.py --threads "$THREADS" --ckpt "$tmp/e2e.safetensors" \
		--n "$E2E_N" --batch "$E2E_N" --steps 50 --class 3 --guidance 2 >"$tmp/e2e-py.$r"
	t2=$(now)
	g=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	p=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
	awk -v g="$g" -v n="$E2E_N" 'BEGIN { print n / g }' >>"$tmp/g.E2E"
	awk -v p="$p" -v n="$E2E_N" 'BEGIN { print n / p }' >>"$tmp/p.E2E"
	awk -v g="$g" -v p="$p" 'BEGIN { print g / p }' >>"$tmp/r.E2E"
	py_val sample_s "$tmp/e2e-py.$r" >>"$tmp/p.E2Eloop"
	printf 'end-to-end round %d: genlab %.1f s, PyTorch %.1f s (load %s)\n' "$r" "$g" "$p" "$(load)"
done
load_after=$(load)

blas=$(sed -n 's/.*BLAS: //p' "$tmp/go.1" | head -1)
gflops() { awk -v f="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f", f / (ms / 1000) / 1e9; else print "-" }'; }
echo
echo "Reference UNet (612,737 parameters), 28x28x1; medians of $ROUNDS interleaved rounds"
printf '%-26s %10s %11s %9s %10s %10s %12s\n' step "genlab ms" "PyTorch ms" ratio "ratio range" "genlab GF/s" "PyTorch GF/s"
row() { # name key flops
	g=$(median <"$tmp/g.$2")
	p=$(median <"$tmp/p.$2")
	printf '%-26s %10.1f %11.1f %9.2f %10s %10s %12s\n' "$1" "$g" "$p" "$(median <"$tmp/r.$2")" "$(range <"$tmp/r.$2")" \
		"$(gflops "$3" "$g")" "$(gflops "$3" "$p")"
}
row "train b64" Train "$((3 * flops64))"
row "sample b64" Sample "$flops64"
row "sample b1" Batch1 "$flops1"
e2e_name="sample DDIM-50 b$E2E_N (img/s)"
printf '%-26s %10.2f %11.2f %9.2f %10s\n' "$e2e_name" "$(median <"$tmp/g.E2E")" "$(median <"$tmp/p.E2E")" \
	"$(median <"$tmp/r.E2E")" "$(range <"$tmp/r.E2E")"
echo
echo "ratio: genlab/PyTorch per round (below 1: genlab is faster); GF/s: GFLOP/s, a training step counted as 3 forward passes"
echo "forward pass: $flops64 FLOPs at batch 64, $flops1 at batch 1"
echo "$e2e_name: medians of $E2E_ROUNDS rounds of $E2E_N images of one class, guidance 2 (2 passes a step), 1 batch;"
echo "  ratio: genlab's time/PyTorch's; both are whole-process wall times; PyTorch's sampling loop alone: $(median <"$tmp/p.E2Eloop") s"
echo "CPU: $cpu, $cores cores at $mhz MHz, $lanes float32 lanes, $FMA_UNITS FMA units: peak $peak GFLOP/s"
echo "genlab: $blas; GOMAXPROCS cores. PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $THREADS threads"
echo "load average before: $load_before; after: $load_after"
