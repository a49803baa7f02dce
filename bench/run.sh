#!/usr/bin/env bash
# Run the benchmarks (make bench): each starts its own `selfexp sim` on a free
# loopback port, runs selfexp and the Python peer (bench/peer_aiohttp.py) in
# turn, prints its figures and appends them to BENCHMARKS.md. Never part of
# `make check`. BENCH_ONLY="1 3" runs only figures 1 and 3; the sizes are set
# by the B<n>_* variables each script documents.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PEER_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import aiohttp' 2> /dev/null; then
	echo "bench: $py cannot import aiohttp; install python3-aiohttp (scripts/deps.sh python3-aiohttp)" >&2
	exit 1
fi
only=${BENCH_ONLY:-1 2 3 4 5}
for n in $only; do
	script=$(ls "$here"/b"$n"_*.py)
	echo "== $(basename "$script")" >&2
	"$py" "$script"
done
