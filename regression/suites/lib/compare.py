#!/usr/bin/env python3
"""Compare a suite's measured figures with its reference, or rewrite the reference.

A reference file holds one figure per line, whitespace-separated:

    # figure              value        tolerance
    train_ae.valid_loss   0.01234      rel:1e-4
    data.train.sha256     3fa9...      exact

Measured figures come from a suite's `measure` script in the same format, where the
tolerance column is optional: it is the default recorded when a figure first enters
the reference; afterwards the reference's tolerance is the one that counts, so that a
tolerance is a human decision that UPDATE=1 never loosens.

Tolerances:
    exact      the text must be identical (checksums, counts, names)
    abs:X      |measured - reference| <= X
    rel:X      |measured - reference| <= X * |reference|
    le:X       measured <= X (an invariant; the reference value is informative only)
    ge:X       measured >= X (likewise)

Usage:
    compare.py check  SUITE RANKS REFERENCE MEASURED   rows (TSV) on stdout, exit 1 on any FAIL
    compare.py update REFERENCE MEASURED               rewrite REFERENCE, keep its tolerances
    compare.py table  ROWS                              print the TSV rows as an aligned table
    compare.py validate MEASURED                        exit 1 (saying where) on a malformed line
"""
import math
import os
import sys
import tempfile

TOLERANCE_KINDS = ("exact", "abs", "rel", "le", "ge")


def read_figures(path):
    """Ordered list of (figure, value, tolerance-or-None); dies on a malformed line."""
    figures = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) not in (2, 3):
                sys.exit(f"{path}:{lineno}: expected 'figure value [tolerance]', got '{text}'")
            tolerance = parts[2] if len(parts) == 3 else None
            if tolerance is not None:
                check_tolerance_syntax(tolerance, f"{path}:{lineno}")
            figures.append((parts[0], parts[1], tolerance))
    return figures


def check_tolerance_syntax(tolerance, where):
    kind, _, arg = tolerance.partition(":")
    if kind not in TOLERANCE_KINDS or (kind == "exact") != (arg == ""):
        sys.exit(f"{where}: unknown tolerance '{tolerance}' (exact, abs:X, rel:X, le:X, ge:X)")
    if arg:
        try:
            float(arg)
        except ValueError:
            sys.exit(f"{where}: tolerance '{tolerance}' needs a number after the colon")


def as_number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def within(reference, measured, tolerance):
    """True when `measured` is acceptable against `reference` under `tolerance`."""
    kind, _, arg = tolerance.partition(":")
    if kind == "exact":
        return measured == reference
    m = as_number(measured)
    if m is None:
        return False
    bound = float(arg)
    if kind == "le":
        return m <= bound
    if kind == "ge":
        return m >= bound
    r = as_number(reference)
    if r is None:
        return False
    if kind == "abs":
        return abs(m - r) <= bound
    return abs(m - r) <= bound * abs(r)  # rel


def check(suite, ranks, reference_path, measured_path):
    reference = read_figures(reference_path) if os.path.exists(reference_path) else []
    measured = {name: value for name, value, _ in read_figures(measured_path)}
    failed = 0
    seen = set()
    for name, ref_value, tolerance in reference:
        seen.add(name)
        got = measured.get(name, "missing")
        ok = name in measured and within(ref_value, got, tolerance or "exact")
        failed += not ok
        print("\t".join([suite, ranks, name, ref_value, got, tolerance or "exact", "pass" if ok else "FAIL"]))
    for name, value, tolerance in read_figures(measured_path):
        if name not in seen:  # a figure with no reference yet: record it with UPDATE=1
            failed += 1
            print("\t".join([suite, ranks, name, "none", value, tolerance or "exact", "FAIL"]))
    return 1 if failed else 0


def update(reference_path, measured_path):
    old = read_figures(reference_path) if os.path.exists(reference_path) else []
    kept_tolerance = {name: tol for name, _, tol in old}
    rows = []
    for name, value, tolerance in read_figures(measured_path):
        rows.append((name, value, kept_tolerance.get(name) or tolerance or "exact"))
    header = []
    if os.path.exists(reference_path):
        with open(reference_path) as f:
            header = [line for line in f if line.startswith("#")]
    if not header:
        header = ["# figure value tolerance (rewritten by `make regression UPDATE=1`; tolerances are kept)\n"]
    width = max([len(r[0]) for r in rows] + [6])
    vwidth = max([len(r[1]) for r in rows] + [5])
    text = "".join(header) + "".join(f"{n:<{width}}  {v:<{vwidth}}  {t}\n" for n, v, t in rows)
    directory = os.path.dirname(os.path.abspath(reference_path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".reference.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, reference_path)
    return 0


def shorten(cell):
    """Long values (checksums) are shown by their first 16 characters; compared in full."""
    return cell if len(cell) <= 24 else cell[:16] + "..."


def table(rows_path):
    header = ["suite", "ranks", "figure", "reference", "measured", "tolerance", "result"]
    rows = [header]
    with open(rows_path) as f:
        for line in f:
            if line.strip():
                cells = line.rstrip("\n").split("\t")
                rows.append([shorten(c) if i in (3, 4) else c for i, c in enumerate(cells)])
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(header))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def main(argv):
    if len(argv) == 6 and argv[1] == "check":
        return check(*argv[2:])
    if len(argv) == 4 and argv[1] == "update":
        return update(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "validate":
        read_figures(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "table":
        return table(argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
