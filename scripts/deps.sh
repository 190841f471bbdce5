#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what the checks need beyond a C compiler, make and cmake (which "make test" alone
# needs): valgrind and pkg-config; setarch (util-linux) for TSan on some kernels; clang and its
# libFuzzer runtime for "make fuzz" (Debian 12: libclang-rt-14-dev); libuv and liburing for the
# event-loop tests and examples (skipped without them). Debian and Ubuntu (apt-get); installs
# only what is missing, so it is a no-op on a ready machine.
set -euo pipefail

# command -> Debian package
declare -A pkgs=([valgrind]=valgrind [pkg-config]=pkg-config [setarch]=util-linux
		 [gcc]=gcc [make]=make [cmake]=cmake [clang]=clang)
missing=()
for cmd in gcc make cmake valgrind pkg-config setarch clang; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done

# The libFuzzer runtime is a library, not a command: probed by linking a trivial fuzzer. Its
# package follows clang's major version (the clang of Debian 12 is 14).
clang_major=14
if command -v clang >/dev/null 2>&1; then
	clang_major=$(clang -dumpversion | cut -d. -f1)
	probe=$(mktemp)
	printf '%s\n' 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);' \
		'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' |
		clang -fsanitize=fuzzer -x c - -o "$probe" >/dev/null 2>&1 ||
		missing+=("libclang-rt-$clang_major-dev")
	rm -f "$probe"
else
	missing+=("libclang-rt-$clang_major-dev")
fi

# The event loops' libraries are found the way the build finds them, through pkg-config. Without
# pkg-config (installed here with the rest) they cannot be probed: they are installed too, which
# apt-get makes a no-op for those already present.
declare -A libs=([libuv]=libuv1-dev [liburing]=liburing-dev)
for mod in libuv liburing; do
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod"; then
		missing+=("${libs[$mod]}")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo: install ${missing[*]}"; exit 1; }
	sudo=(sudo)
fi
command -v apt-get >/dev/null || { echo "deps: no apt-get: install ${missing[*]} yourself"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "deps: done"
