#!/usr/bin/env python3
"""same_json.py GOT EXPECTED: exit 0 when the two JSON files say the same (numbers within
1e-9, keys and lengths equal), else print the first differences as TAP comments and exit 1.
Used by tests/cli/t0200-parse-golden.sh and scripts/update-golden (which keeps an expected
file that says the same)."""
import json, sys
def same(a, b, path="$"):
    if isinstance(a, bool) or isinstance(b, bool):
        return [] if a is b else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if abs(a - b) <= 1e-9 else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in same(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
try:
    got = json.load(open(sys.argv[1]))
except ValueError as e:
    print(f"#   output is not JSON: {e}"); sys.exit(1)
diffs = same(json.load(open(sys.argv[2])), got)
for d in diffs[:8]:
    print("#   expected vs got " + d)
sys.exit(1 if diffs else 0)
