#!/usr/bin/env bash
# Runs poolsim, a minimal hand-written Rust event loop and SimPy on the same
# single-pool model (pool 10, Poisson 9/s, exponential 1 s holds, 2 s acquire
# timeout) and prints their figures side by side and poolsim's speed ratios.
# The 503 fractions and mean waits must agree (within sampling noise: the peers
# use their own random numbers): the speed comparison is also an agreement check.
#
#   bash benches/peers/run.sh [SIMPY_REQUESTS] [RUNS]
#
# SIMPY_REQUESTS defaults to 200000 (SimPy is ~100x slower). The three programs
# run RUNS times (default 5), interleaved, and each line shown is the median run
# by requests per CPU-second: on a shared machine one run can be off by 10 %.
#
# Sets up a venv in target/peers-venv (SimPy from requirements.txt) and builds the
# hand loop into target/handloop; run from anywhere.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
simpy_n="${1:-200000}"
runs="${2:-5}"
venv="$root/target/peers-venv"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r benches/peers/requirements.txt
fi
cargo build --release --locked --quiet
cargo build --release --quiet --manifest-path benches/peers/handloop/Cargo.toml --target-dir "$root/target/handloop"

# CPU seconds (user + system) of one command, from bash's `time`.
cpu_of() {
  local TIMEFORMAT='%U %S'
  { time "$@" >"$tmp/stdout" 2>"$tmp/stderr"; } 2>"$tmp/time"
  awk '{print $1 + $2}' "$tmp/time"
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

poolsim_once() {
  local cpu
  cpu=$(cpu_of target/release/sim run benches/scenarios/single-pool-10m.yaml --no-plots -q --out "$tmp/poolsim")
  "$venv/bin/python" - "$tmp/poolsim/summary.json" "$cpu" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
cpu = float(sys.argv[2])
n = s["requests"]["total"]
# timed_out_rate is written with three decimals: recompute it from the counts.
print(f"poolsim   requests {n}  503 fraction {s['requests']['timed_out'] / n:.5f}  "
      f"mean acquire wait {s['acquire_wait_ms']['mean']:.1f} ms  events {s['events']}  "
      f"CPU {cpu:.2f} s  {n / cpu:.0f} requests/CPU-s")
PY
}
rate() { sed -E 's/.* ([0-9,]+) requests\/CPU-s.*/\1/' <<<"$1" | tr -d ,; }
# The median of the lines given, by requests per CPU-second.
median() {
  local line
  for line in "$@"; do echo "$(rate "$line") $line"; done | sort -n | awk -v n=$# 'NR == int((n + 1) / 2)' | cut -d' ' -f2-
}
poolsim_lines=(); handloop_lines=(); simpy_lines=()
for _ in $(seq "$runs"); do
  poolsim_lines+=("$(poolsim_once)")
  handloop_lines+=("$(target/handloop/release/handloop 10000000 1)")
  simpy_lines+=("$("$venv/bin/python" benches/peers/simpy_pool.py "$simpy_n" 1)")
done
poolsim_line=$(median "${poolsim_lines[@]}")
handloop_line=$(median "${handloop_lines[@]}")
simpy_line=$(median "${simpy_lines[@]}")

echo "machine   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "median of $runs interleaved runs each:"
echo "$poolsim_line"
echo "$handloop_line"
echo "$simpy_line"
p=$(rate "$poolsim_line"); h=$(rate "$handloop_line"); s=$(rate "$simpy_line")
awk -v p="$p" -v h="$h" -v s="$s" 'BEGIN {
  printf "ratio     poolsim / hand loop = %.2f, poolsim / SimPy = %.0f (medians, requests per CPU-second)\n", p / h, p / s }'
# The ratio of each pair run back to back (the same machine state for both):
# how much it moves is the honest error bar of the medians above.
pairs=()
for i in "${!poolsim_lines[@]}"; do
  pairs+=("$(awk -v p="$(rate "${poolsim_lines[$i]}")" -v h="$(rate "${handloop_lines[$i]}")" 'BEGIN { printf "%.2f", p / h }')")
done
printf '%s\n' "${pairs[@]}" | sort -n | awk '{ r[NR] = $1 } END {
  printf "pairs     poolsim / hand loop run back to back: median %.2f, from %.2f to %.2f over %d pairs\n", r[int((NR + 1) / 2)], r[1], r[NR], NR }'
