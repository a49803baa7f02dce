#!/usr/bin/env bash
# selfexp parse on the 300 real gpt-3.5-turbo answers in $SELFEXP_SHARED/data/llm-responses:
# each parses to its expected label and confidence exactly and, for ep/pe, to its
# importance list (words exactly, values within 1e-9). Reports the alignment coverage.
. "$(dirname "$0")/lib.sh"
need_shared
dir=$SELFEXP_SHARED/data/llm-responses/gpt-3.5-turbo
[ -f "$dir/ep.jsonl" ] || skip_all "no real answers at '$dir'"

python3 - "$X" "$dir" <<'PY'
import json, subprocess, sys
exe, d = sys.argv[1], sys.argv[2]
n = 0
cov = []
full = 0
statuses = {}
for cond in ("ep", "pe", "pred"):
    bad = []
    count = 0
    for line in open(f"{d}/{cond}.jsonl", encoding="utf-8"):
        rec = json.loads(line)
        count += 1
        p = subprocess.run([exe, "parse", "--compact", "--condition", rec["prompt"],
                            "--tokens", " ".join(rec["tokens"])],
                           input=rec["raw_response"].encode(), capture_output=True)
        why = None
        if p.returncode != 0:
            why = f"exit {p.returncode}: {p.stderr.decode()[:200]}"
        else:
            got = json.loads(p.stdout)
            exp = rec["expected"]
            statuses[got["status"]] = statuses.get(got["status"], 0) + 1
            pred = got["prediction"]
            if pred is None:
                why = f"no prediction (status {got['status']})"
            elif pred["label"] != exp["label"] or pred["confidence"] != exp["confidence"]:
                why = f"prediction {pred} != {exp['label']}, {exp['confidence']}"
            elif "importances" in exp:
                gi = got["items"]
                ei = exp["importances"]
                if [w for w, _ in gi] != [w for w, _ in ei]:
                    why = f"words differ: {[w for w, _ in gi]} != {[w for w, _ in ei]}"
                elif any(abs(a[1] - b[1]) > 1e-9 for a, b in zip(gi, ei)):
                    why = "values differ"
                else:
                    cov.append(got["coverage"])
                    full += got["coverage"] == 1.0
        if why:
            bad.append(f"id {rec['id']}: {why}")
    n += 1
    if bad:
        print(f"not ok {n} - {cond}: {len(bad)} of {count} answers misparsed")
        for b in bad[:10]:
            print(f"#   {b}")
    else:
        print(f"ok {n} - {cond}: all {count} answers parse to their expected label, confidence and list")
if cov:
    print(f"# coverage over {len(cov)} ep/pe answers: mean {sum(cov) / len(cov):.4f}, "
          f"min {min(cov):.4f}, full coverage {full} of {len(cov)}")
print("# statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
print(f"1..{n}")
PY
