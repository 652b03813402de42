#!/bin/sh
# tests/memcheck.sh [BUILDDIR]: run a chosen part of the suite with every
# iod it starts under valgrind's memcheck, and fail on any error or any
# byte definitely lost.  BUILDDIR (default: .) is a configured build
# directory; ./dev memcheck runs it in build/normal.
#
# The part: the integration suites below, on one engine of each family
# (libevent; the poller engines, by epoll; iterative; threads; fork).
# Left out: uring, because valgrind 3.19 does not know io_uring's shared
# rings and iod hangs under it; coro, because valgrind does not follow
# its hand-written stack switches (src/coro.c) and calls every access to
# a coroutine's stack invalid.  A fork child is not checked
# (--child-silent-after-fork): it serves its client with the code of
# src/blocking.c, which the threads engine runs under memcheck too, and
# at its _exit() it still holds a copy of its parent's heap, which a
# leak check would count as its own.  The tests find iod through
# IOD_TEST_WRAPPER (tests/lib_iod.c), which also makes their waits on
# iod ten times longer (t_ms); IOD_TEST_ENGINES picks the engines.
set -eu

build=${1:-.}
# SUITE:ENGINES; proto leaves fork out, whose many connections, each a
# process valgrind copies, take a minute on their own.
runs=${IOD_MEMCHECK_RUNS:-"life:libevent,epoll,iterative,threads,fork
proto:libevent,epoll,iterative,threads"}
command -v valgrind >/dev/null ||
    { echo "memcheck: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
cd "$build"
logs=$(pwd)/memcheck
rm -rf "$logs"
mkdir -p "$logs"
# Some tests run iod as another user, whose valgrind writes its log and
# its temporary files here too (the tests' own TMPDIR is theirs alone).
chmod 1777 "$logs"

tests=0
for run in $runs; do
	s=${run%%:*}
	status=0
	IOD_TEST_ENGINES=${run#*:} \
	IOD_TEST_WRAPPER="env TMPDIR=$logs valgrind --tool=memcheck \
--leak-check=full \
--errors-for-leak-kinds=definite --child-silent-after-fork=yes \
--log-file=$logs/%p.log" \
	CK_TIMEOUT_MULTIPLIER=5 CK_RUN_SUITE=$s \
	    make -s check >/dev/null 2>&1 || status=$?
	line=$(grep -h "Checks:" tests/main.log || echo "no result")
	echo "memcheck: suite $s: $line"
	if [ "$status" -ne 0 ]; then
		grep -v ":P:" tests/main.log | tail -40
		echo "memcheck: suite $s failed under valgrind" >&2
		exit 1
	fi
	n=$(sed -n 's/.*Checks: \([0-9]*\),.*/\1/p' tests/main.log)
	tests=$((tests + ${n:-0}))
done

# Every log: no error reported, nothing definitely lost.  A test that
# kills its iod with SIGKILL leaves a log with no summary; its errors,
# had there been any, would still be in it.
procs=$(find "$logs" -name '*.log' | wc -l)
unfinished=$(grep -L "ERROR SUMMARY:" "$logs"/*.log | wc -l)
bad=$(grep -lE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination)" \
    "$logs"/*.log || true)
echo "memcheck: $tests tests, $procs iod processes under valgrind" \
    "($unfinished killed before their summary)"
if [ -n "$bad" ]; then
	for f in $(echo "$bad" | head -3); do
		echo "memcheck: $f:"
		grep -v "^==[0-9]*== *$" "$f" | sed -n '/ERROR SUMMARY\|Invalid\|lost in loss\|Conditional\|uninitialised\|Syscall\|Mismatched/,+12p' | head -60
	done
	echo "memcheck: errors in $(echo "$bad" | wc -l) processes" >&2
	exit 1
fi
echo "memcheck: 0 errors, 0 bytes definitely lost"
