#!/usr/bin/env python3
# Reference values for tests/unit/test_stats.c (Wilcoxon p-values, seed derivation).
# Run: python3 tests/unit/wilcoxon_ref.py. Needs no scipy.
# Independent Wilcoxon reference: brute-force enumeration of all 2^m sign
# assignments for the exact case; textbook normal approximation otherwise.
import itertools, math, hashlib, struct
def ranks(v):
    s = sorted(range(len(v)), key=lambda i: v[i]); r=[0]*len(v); i=0
    while i < len(v):
        j=i
        while j+1 < len(v) and v[s[j+1]]==v[s[i]]: j+=1
        for k in range(i,j+1): r[s[k]]=(i+j+2)/2
        i=j+1
    return r
def wil(d, exact):
    d=[x for x in d if x!=0]; m=len(d); a=[abs(x) for x in d]; r=ranks(a)
    wp=sum(ri for ri,x in zip(r,d) if x>0)
    if exact:
        T=min(wp, m*(m+1)/2-wp); cnt=0
        for signs in itertools.product([0,1],repeat=m):
            if sum(ri for ri,s in zip(r,signs) if s) <= T: cnt+=1
        return wp, min(1,2*cnt/2**m)
    var=m*(m+1)*(2*m+1)/24
    from collections import Counter
    for t in Counter(a).values(): var-=(t**3-t)/48
    z=max(abs(wp-m*(m+1)/4)-0.5,0)/math.sqrt(var)
    return wp, math.erfc(z/math.sqrt(2))
print("exact7", wil([1.5,-0.5,2.0,3.1,0.7,-1.2,2.6,0.0], True))
print("exact10", wil([0.3,-0.1,0.9,1.4,-0.25,0.6,0.8,1.1,-0.45,0.2], True))
print("ties", wil([1,1,-2,3,3,3,-1,4,5,0], False))
d30=[(i+1)*(-1 if i%4==0 else 1)+0.01*i for i in range(30)]
print("n30", wil(d30, False))
print("d30", d30)
def seed(run, purpose, id):
    h=hashlib.sha256(b"selfexp-seed-v1\0"+struct.pack(">Q",run)+purpose.encode()+b"\0"+id.encode()).digest()
    return struct.unpack(">Q",h[:8])[0]
print("seed", hex(seed(42,"lime","sst2-test-17")))
