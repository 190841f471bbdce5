#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test of a build (the test_* entries CTest knows) under a valgrind tool.
#   scripts/valgrind-tests.sh build/debug                  memcheck
#   scripts/valgrind-tests.sh --tool=helgrind build/hg     helgrind
# helgrind runs on a build configured with -DADMA_ANNOTATE=helgrind (make helgrind).
# A test passes when it exits 0, is skipped when it exits 77, and fails on anything else:
# its own failure, a tool error (exit 1: for memcheck also a definite/indirect leak), or a
# timeout.
# ADMA_TEST_VALGRIND=1 (the default; set 0 for the full run) tells tests to shrink their workload.
# Environment: VALGRIND_JOBS (parallel tests, default: CPUs), VALGRIND_TIMEOUT (s, default 900).
set -euo pipefail

tool=memcheck
case ${1-} in
--tool=*)
	tool=${1#--tool=}
	shift
	;;
esac
build=${1:?usage: $0 [--tool=memcheck|helgrind] BUILD_DIR}
jobs=${VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${VALGRIND_TIMEOUT:-900}
here=$(cd "$(dirname "$0")/.." && pwd)
logs=$build/$tool
export ADMA_TEST_VALGRIND=${ADMA_TEST_VALGRIND:-1}

command -v valgrind >/dev/null || { echo "valgrind not found (scripts/deps.sh installs it)"; exit 1; }

mapfile -t names < <(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: \(test_[A-Za-z0-9_]*\)$/\1/p')
if [ ${#names[@]} -eq 0 ]; then
	echo "no test_* tests registered in $build"
	exit 1
fi

vg=(valgrind --tool="$tool" --error-exitcode=1 --num-callers=30 --quiet)
case $tool in
memcheck)
	vg+=(--leak-check=full --errors-for-leak-kinds=definite,indirect
	     --show-leak-kinds=definite,indirect)
	;;
helgrind)
	# helgrind serialises threads and runs them several times slower than memcheck does,
	# so a 1 MiB copy on a worker holds the loop tests' loop thread for hundreds of ms: their
	# stall limit is not a measure of adma here.
	export ADMA_TEST_STALL_MS=${ADMA_TEST_STALL_MS:-5000}
	;;
*)
	echo "unknown tool $tool (memcheck or helgrind)"
	exit 2
	;;
esac
if [ -f "$here/cmake/$tool.supp" ]; then
	vg+=(--suppressions="$here/cmake/$tool.supp")
fi

rm -rf "$logs"
mkdir -p "$logs"

run_one() {
	local name=$1 rc=0 start=$SECONDS
	timeout --kill-after=10 "$limit" "${vg[@]}" "$build/tests/$name" >"$logs/$name.log" 2>&1 || rc=$?
	echo "$rc" >"$logs/$name.rc"
	printf '%-32s exit %3d  %4ds\n' "$name" "$rc" $((SECONDS - start))
}
export -f run_one
export build logs limit
export VG="${vg[*]}"

echo "$tool: ${#names[@]} tests, $jobs at a time, ${vg[*]}"
printf '%s\n' "${names[@]}" |
	xargs -P "$jobs" -I{} bash -c 'vg=($VG); run_one "$1"' _ {}

passed=0 skipped=0
failed=()
for name in "${names[@]}"; do
	rc=$(cat "$logs/$name.rc" 2>/dev/null || echo missing)
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*)
		failed+=("$name")
		echo "---- $name: exit $rc$([ "$rc" = 124 ] && echo " (timed out after ${limit}s)")"
		cat "$logs/$name.log"
		;;
	esac
done

echo "$tool: ${#names[@]} tests: $passed passed, $skipped skipped, ${#failed[@]} failed" \
     "(logs in $logs)"
if [ ${#failed[@]} -gt 0 ]; then
	echo "$tool: failed: ${failed[*]}"
	exit 1
fi
