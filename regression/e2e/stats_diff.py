"""Compare two eval tables (stats.csv) row by row: the same rows (by their
identifying columns, in any order) and every score within TOL relative to
max(1, |a|). The speed column, a timing, is left out.

  python3 stats_diff.py A B TOL"""
import csv
import sys

KEY = ("run", "target", "compression", "method", "settings", "guidance", "context", "overlap", "split",
       "index", "start", "seed", "field", "lead_time", "relative")


def load(path):
    with open(path) as f:
        return {tuple(r[k] for k in KEY): r for r in csv.DictReader(f)}


def main():
    a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
    if a.keys() != b.keys():
        print(f"the rows differ: {len(a)} and {len(b)}, {len(a.keys() ^ b.keys())} not in both")
        return 1
    worst, where = 0.0, "no score"
    for key, ra in a.items():
        for col, va in ra.items():
            if col in KEY or col == "speed":
                continue
            x, y = float(va), float(b[key][col])
            err = abs(x - y) / max(1.0, abs(x)) if x != y else 0.0
            if not err <= worst:  # a NaN on one side only counts as the worst
                worst, where = err, f"{col}, {key[3]} at lead {key[13]}"
    print(f"{len(a)} rows, worst relative difference {worst:.3g} ({where})")
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main())
