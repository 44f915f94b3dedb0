#!/usr/bin/env python3
"""bench/compare's JSON lines (stdin or files) as one Markdown table: a row a
case, embcl's median (min) time and bound_frac, then each baseline's median
(min) time and ratio (torch / embcl, medians; above 1: embcl is faster).

    bench/compare --quick > out.jsonl; bench/table.py out.jsonl
"""
import fileinput
import json

BASELINES = ("torch-1.13", "torch-2.x", "fbgemm")


def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def ms(x):
    if x is None:
        return ""
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def main():
    cases, order, seen = {}, [], set()
    for line in fileinput.input():
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["bench"], r["case"])
        if key not in cases:
            cases[key] = {"embcl": r, "base": {}}
            order.append(key)
        if r.get("baseline"):
            cases[key]["base"][r["baseline"]] = r
            seen.add(r["baseline"])
    cols = [b for b in BASELINES if b in seen]
    gather = any(num(c["embcl"].get("gather_frac")) for c in cases.values())
    head = ["bench", "case", "embcl ms, median (min)", "bound_frac"] + (["gather_frac"] if gather else []) + \
        [f"{b} ms, median (min)" for b in cols] + [f"ratio {b}" for b in cols]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for key in order:
        e = cases[key]["embcl"]
        bf = e.get("bound_frac")
        row = [key[0], key[1].replace(",", ", "), f"{ms(e['embcl_ms'])} ({ms(e.get('embcl_ms_min'))})",
               "" if bf is None else f"{bf:.3f}" + (" (!)" if e.get("bound_exceeded") else "")]
        if gather:
            gf = e.get("gather_frac")
            row.append(f"{gf:.2f}" if num(gf) else "")
        for b in cols:
            t = cases[key]["base"].get(b)
            if t and t.get("torch_ms") is None:  # the baseline knows the case and has no such op
                row.append("n/a")
            else:
                row.append(f"{ms(t['torch_ms'])} ({ms(t.get('torch_ms_min'))})" if t else "")
        for b in cols:
            t = cases[key]["base"].get(b)
            row.append(f"{t['ratio']:.2f}" if t and t.get("ratio") is not None else "")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
