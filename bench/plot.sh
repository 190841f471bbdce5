#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Draws PNG plots of "adma bench --json" output with gnuplot (Debian: gnuplot-nox).
#
#   bench/plot.sh [FILE.json | -] [OUTDIR]
#
# FILE.json  the output of "adma bench --json"; omitted or "-": runs "$ADMA bench --json
#            $BENCH_ARGS" first (ADMA defaults to build/release/adma) and keeps its output as
#            OUTDIR/bench.json
# OUTDIR     where the plots go (default bench/out):
#              bulk.png     GB/s against copy size (log scale), one line per implementation
#              rate.png     64-byte ops per second against batch size (log scales)
#              latency.png  one 64-byte copy, warm and after 1 ms idle (log scale)
#            each point is a median; the error bars span min..max of the samples.
#
# Exits 77 (skipped) when gnuplot is not installed, 1 on any other failure. Reads the JSON with
# awk, relying on what adma writes: one figure per line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
json=${1:--}
out=${2:-$here/out}

if ! command -v gnuplot >/dev/null 2>&1; then
	echo "plot.sh: gnuplot is not installed (Debian/Ubuntu: apt-get install gnuplot-nox);" \
	     "no plots drawn" >&2
	exit 77
fi
mkdir -p "$out"

if [ "$json" = "-" ]; then
	adma=${ADMA:-$here/../build/release/adma}
	if [ ! -x "$adma" ]; then
		echo "plot.sh: $adma not found: build it first (make bench) or set ADMA" >&2
		exit 1
	fi
	echo "plot.sh: running $adma bench --json ${BENCH_ARGS:-}" >&2
	# shellcheck disable=SC2086
	"$adma" bench --json ${BENCH_ARGS:-} >"$out/bench.json"
	json=$out/bench.json
fi
if [ ! -r "$json" ]; then
	echo "plot.sh: cannot read $json" >&2
	exit 1
fi
if ! grep -q '"tool": "adma bench"' "$json"; then
	echo "plot.sh: $json is not the output of 'adma bench --json'" >&2
	exit 1
fi

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# Splits the measured figures into one data file per scenario and implementation:
#   bulk-IMPL.dat           bytes median min max
#   rate-IMPL_VARIANT.dat   batch median min max
#   latency.dat             impl warm_median idle_median
awk -v dir="$data" '
function field(name,    m) {
	if (!match($0, "\"" name "\": (\"[^\"]*\"|[-+0-9.eE]+)"))
		return ""
	m = substr($0, RSTART + length(name) + 4, RLENGTH - length(name) - 4)
	gsub(/"/, "", m)
	return m
}
/"tool": "adma bench"/ { next }
/"machine": / {
	print field("cpu") ", " field("cpus_online") " CPUs" > (dir "/machine")
}
/"mode": / { print field("mode") > (dir "/mode") }
/"scenario": / && /"median": / {
	sc = field("scenario"); impl = field("impl"); var = field("variant")
	if (impl ~ /\//)
		next
	if (sc == "bulk") {
		print field("bytes"), field("median"), field("min"), field("max") > (dir "/bulk-" impl ".dat")
		if (!(("bulk", impl) in listed)) {
			listed["bulk", impl] = 1
			print impl > (dir "/bulk.order")
		}
	} else if (sc == "rate") {
		print field("batch"), field("median"), field("min"), field("max") > (dir "/rate-" impl "_" var ".dat")
		if (!(("rate", impl "_" var) in listed)) {
			listed["rate", impl "_" var] = 1
			print impl "_" var > (dir "/rate.order")
		}
	} else if (sc == "latency") {
		lat[impl, var] = field("median")
		if (!(impl in seen)) { seen[impl] = 1; order[n++] = impl }
	}
}
END {
	for (i = 0; i < n; i++) {
		im = order[i]
		w = ((im, "warm") in lat) ? lat[im, "warm"] : "NaN"
		d = ((im, "idle") in lat) ? lat[im, "idle"] : "NaN"
		print im, w, d > (dir "/latency.dat")
	}
}' "$json"

machine=$(cat "$data/machine" 2>/dev/null || echo "unknown machine")
mode=$(cat "$data/mode" 2>/dev/null || echo "?")
if gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo; then
	term="pngcairo size 960,600 font ',10'"
else
	term="png size 960,600"
fi

# $(plot_lines PREFIX): one gnuplot plot clause per data file, titled by implementation, in
# the order the implementations appear in the JSON.
plot_lines() {
	local sep="" name
	[ -s "$data/$1.order" ] || return 0
	while read -r name; do
		printf "%s'%s' using 1:2:3:4 with yerrorlines lw 2 title '%s'" "$sep" \
			"$data/$1-$name.dat" "${name/_/, }"
		sep=", "
	done <"$data/$1.order"
}

drawn=()
bulk=$(plot_lines bulk)
if [ -n "$bulk" ]; then
	gnuplot <<EOF
set terminal $term
set output '$out/bulk.png'
set title "adma bench: bulk copy throughput ($mode mode)\n$machine" noenhanced
set xlabel 'copy size'
set ylabel 'GB/s (median; bars: min..max)'
set logscale x 2
set xtics ('4 KiB' 4096, '64 KiB' 65536, '1 MiB' 1048576, '16 MiB' 16777216, '256 MiB' 268435456, '1 GiB' 1073741824)
set xrange [2048:2147483648]
set yrange [0:*]
set grid
set key outside right top noenhanced
plot $bulk
EOF
	drawn+=("$out/bulk.png")
fi

rate=$(plot_lines rate)
if [ -n "$rate" ]; then
	gnuplot <<EOF
set terminal $term
set output '$out/rate.png'
set title "adma bench: 64-byte copies per second by batch size ($mode mode)\n$machine" noenhanced
set xlabel 'ops per batch'
set ylabel 'M ops/s (median; bars: min..max)'
set logscale xy
set xtics (1, 8, 32, 128)
set xrange [0.7:180]
set grid
set key outside right top noenhanced
plot $rate
EOF
	drawn+=("$out/rate.png")
fi

if [ -s "$data/latency.dat" ]; then
	gnuplot <<EOF
set terminal $term
set output '$out/latency.png'
set title "adma bench: latency of one 64-byte copy, median ($mode mode)\n$machine" noenhanced
set ylabel 'us (log scale)'
set logscale y
set yrange [0.01:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
plot '$data/latency.dat' using 2:xtic(1) title 'warm (back to back)', '' using 3 title 'after 1 ms idle'
EOF
	drawn+=("$out/latency.png")
fi

if [ ${#drawn[@]} -eq 0 ]; then
	echo "plot.sh: $json holds no bulk, rate or latency figures: nothing to draw" >&2
	exit 1
fi
printf 'plot.sh: wrote %s\n' "${drawn[@]}"
