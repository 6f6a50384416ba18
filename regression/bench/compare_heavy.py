#!/usr/bin/env python3
"""Join bench_kernels_heavy (C) and heavy_kernels_torch.py (PyTorch) into one table.

    python3 regression/bench/compare_heavy.py BUILD/bench/bench_kernels_heavy [threads ...]

Runs both at each thread count, alternately for ROUNDS rounds (environment,
default 2) keeping each figure's best, so that a machine shared with other
work penalises neither side more than the other; then prints per op, shape,
thread count and pass: our time, GFLOP/s (GB/s for the norms), fraction of the
sgemm peak measured in the same program, PyTorch's time, and the speed-up
torch_ms / our_ms (above 1: we are faster). Without torch the last two are "-".
Run it with the Python that has torch (Debian: /usr/bin/python3).
"""
import csv
import io
import os
import subprocess
import sys


def run_csv(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return list(csv.DictReader(io.StringIO(out)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary, counts = sys.argv[1], sys.argv[2:] or ["1", "2"]
    here = os.path.dirname(os.path.abspath(__file__))
    rounds = int(os.environ.get("ROUNDS", "2"))
    ours, theirs, peaks = {}, {}, {}
    for _ in range(rounds):
        for t in counts:
            env = dict(os.environ, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t)
            for row in run_csv([binary, t], env):
                if row["op"] == "sgemm_peak":
                    peaks[t] = max(peaks.get(t, 0.0), float(row["gflops"]))
                    continue
                key = (row["op"], row["shape"], row["threads"], row["pass"])
                if key not in ours or float(row["ms"]) < float(ours[key]["ms"]):
                    ours[key] = row
            for row in run_csv([sys.executable, os.path.join(here, "heavy_kernels_torch.py"), t], env):
                key = (row["op"], row["shape"], row["threads"], row["pass"])
                theirs[key] = min(theirs.get(key, float("inf")), float(row["ms"]))
    for t in counts:
        print(f"sgemm peak ({t} thread{'s' if t != '1' else ''}): {peaks.get(t, 0.0):.1f} GFLOP/s")
    head = f"{'op':<19} {'shape':<22} {'thr':>3} {'pass':<4} {'ms':>9} {'GFLOP/s':>8} {'peak':>5} {'torch ms':>9} {'speed-up':>8}"
    print(head)
    print("-" * len(head))
    for key, r in ours.items():
        ms = float(r["ms"])
        tms = theirs.get(key)
        rate = r["gflops"] + ("" if r["peak_fraction"] else " GB/s")
        if r["peak_fraction"]:  # against the best peak of all rounds
            r["peak_fraction"] = f"{float(r['gflops']) / peaks[r['threads']]:.3f}"
        print(f"{r['op']:<19} {r['shape']:<22} {r['threads']:>3} {r['pass']:<4} {ms:>9.3f} {rate:>8} "
              f"{r['peak_fraction'] or '-':>5} {('%.3f' % tms) if tms else '-':>9} "
              f"{('%.2f' % (tms / ms)) if tms else '-':>8}")


if __name__ == "__main__":
    main()
