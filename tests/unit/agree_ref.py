"""Reference values of the tie-aware agreement metrics (test_metrics.c,
test_agree_ties): every tie order of both explanations enumerated, each
metric averaged over them. Brute force, standard library only, independent
of the closed forms in src/metrics.c. Run: python3 tests/unit/agree_ref.py"""
import itertools


def orders(v):
    """Every ranking of positions by descending |value|, ties in every order."""
    mags = sorted({abs(x) for x in v}, reverse=True)
    groups = [[i for i, x in enumerate(v) if abs(x) == m] for m in mags]
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [i for p in perms for i in p]


def sign(x):
    return (x > 0) - (x < 0)


def metrics(a, b, k):
    tot = dict(feature=0.0, rank=0.0, sign=0.0, signed_rank=0.0, iou=0.0)
    count = 0
    for oa in orders(a):
        for ob in orders(b):
            A, B = oa[:k], ob[:k]
            common = set(A) & set(B)
            tot["feature"] += len(common) / k
            tot["rank"] += sum(A[j] == B[j] for j in range(k)) / k
            tot["sign"] += sum(sign(a[i]) == sign(b[i]) for i in common) / k
            tot["signed_rank"] += sum(A[j] == B[j] and sign(a[A[j]]) == sign(b[A[j]])
                                      for j in range(k)) / k
            tot["iou"] += len(common) / len(set(A) | set(B))
            count += 1
    return {m: x / count for m, x in tot.items()}


def topk_list(lst, full, k):
    s = set(lst[:k])
    f = i = 0
    n = 0
    for o in orders(full):
        T = set(o[:k])
        f += len(s & T) / k
        i += len(s & T) / len(s | T)
        n += 1
    return f / n, i / n


A10 = [0.5, 0.5, 0.5, 0.1, 0, 0, 0.2, -0.5, 0.3, 0.05]
B10 = [0.4, 0.1, 0.4, -0.4, 0, 0.2, 0.4, 0, 0, 0.1]
A15 = [0.9, 0.3, 0.3, -0.3, 0.1, 0.02, 0.03, 0.04, 0.06, 0.2, 0.07, 0.08, 0.05, 0.09, 0.01]
B15 = [0.3, 0.9, -0.3, 0.3, 0.1, 0.3, 0.01, 0.02, 0.03, 0.2, 0.04, 0.06, 0.07, 0.08, 0.09]
Z10 = [0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0]
D10 = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.05]
if __name__ == "__main__":
    for name, a, b, k in (("A10~B10", A10, B10, 2), ("A15~B15", A15, B15, 3), ("A10~A10", A10, A10, 2), ("Z10~D10", Z10, D10, 2)):
        print(name, {m: repr(x) for m, x in metrics(a, b, k).items()})
    print("list [2, 5] ~ A10", [repr(x) for x in topk_list([2, 5], A10, 2)])
    print("list [3, 1, 7] ~ A15", [repr(x) for x in topk_list([3, 1, 7], A15, 3)])
