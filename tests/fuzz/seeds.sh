# Sourced by tests/fuzz/smoke.sh (and usable by hand, see docs/fuzzing.md).
# fuzz_seeds NAME DIR copies the seed inputs of target NAME into DIR: the
# hand-written ones in tests/fuzz/corpus/NAME/, plus seeds made from files the
# project ships (data/, prompts/, tests/golden/) in the target's input format.

# _fuzz_prefixed DIR TAG CTL FILE: write CTL (one byte, octal) and the first
# 4 KiB of FILE as DIR/TAG.
_fuzz_prefixed() {
	{ printf "\\$3"; head -c 4096 "$4"; } > "$1/$2"
}

fuzz_seeds() {
	local name=$1 dir=$2 f i=0
	mkdir -p "$dir"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp tests/fuzz/corpus/"$name"/* "$dir"/ 2>/dev/null
	fi
	case "$name" in
	data)
		# control byte: bits 0-1 format (0 tsv, 1 jsonl, 2 csv, 3 auto), bit 2 skip bad rows
		for f in data/*.tsv tests/golden/data/*.tsv; do
			[ -f "$f" ] || continue; i=$((i + 1))
			_fuzz_prefixed "$dir" "seed-tsv-$i" 000 "$f"
			_fuzz_prefixed "$dir" "seed-tsv-skip-$i" 004 "$f"
		done
		for f in tests/golden/data/*.csv; do
			[ -f "$f" ] || continue; i=$((i + 1))
			_fuzz_prefixed "$dir" "seed-csv-$i" 002 "$f"
		done
		for f in tests/golden/data/*.jsonl; do
			[ -f "$f" ] || continue; i=$((i + 1))
			_fuzz_prefixed "$dir" "seed-jsonl-$i" 001 "$f"
		done
		;;
	prompt)
		# control byte: the condition (0 ep, 1 pe, 2 ep-topk, 3 pe-topk, 4 pred)
		for f in prompts/*; do
			[ -f "$f" ] || continue; i=$((i + 1))
			_fuzz_prefixed "$dir" "seed-$(basename "$f")" "00$((i % 5))" "$f"
		done
		;;
	parse)
		# control byte: the condition (0 ep, 1 pe, 2 ep-topk, 3 pe-topk, 4 pred);
		# then the review's tokens, a newline and the answer
		for f in tests/golden/parse/*.args; do
			[ -f "$f" ] || continue; i=$((i + 1))
			local cond tokens c
			cond=$(sed -n '/^--condition$/{n;p;}' "$f")
			tokens=$(sed -n '/^--tokens$/{n;p;}' "$f")
			case "$cond" in ep) c=0;; pe) c=1;; ep-topk) c=2;; pe-topk) c=3;; *) c=4;; esac
			{ printf "\\00$c"; printf '%s\n' "$tokens"; head -c 8192 "${f%.args}.answer"; } \
				> "$dir/seed-golden-$(basename "${f%.args}")"
		done
		;;
	json)
		for f in tests/golden/*/*.json tests/golden/*/*.jsonl; do
			[ -f "$f" ] || continue; i=$((i + 1))
			head -n 1 "$f" > "$dir/seed-golden-$i"
		done
		;;
	esac
}
