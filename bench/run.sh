#!/usr/bin/env bash
# Run the benchmarks (make bench): figures 1-5 each start their own `selfexp
# sim` on a free loopback port, run selfexp and the Python peer
# (bench/peer_aiohttp.py) in turn; figure 6 (b6_bigfile.sh) measures memory on
# a generated big data file. Each prints its figures and appends them to
# BENCHMARKS.md. Never part of `make check`. BENCH_ONLY="1 3" runs only
# figures 1 and 3; the sizes are set by the B<n>_* variables each script
# documents.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PEER_PYTHON:-/usr/bin/python3}
only=${BENCH_ONLY:-1 2 3 4 5 6}
scripts=()
for n in $only; do
	for f in "$here"/b"$n"_*.py "$here"/b"$n"_*.sh; do
		[ -e "$f" ] && scripts+=("$f")
	done
done
case " ${scripts[*]}" in
*.py*)
	if ! "$py" -c 'import aiohttp' 2> /dev/null; then
		echo "bench: $py cannot import aiohttp; install python3-aiohttp (scripts/deps.sh python3-aiohttp)" >&2
		exit 1
	fi
	;;
esac
for script in "${scripts[@]}"; do
	echo "== $(basename "$script")" >&2
	case $script in
	*.py) "$py" "$script" ;;
	*) bash "$script" ;;
	esac
done
