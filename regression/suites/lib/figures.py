#!/usr/bin/env python3
"""Small extractors that suites' `measure` scripts use to turn a run's outputs into figures.

    figures.py csv FILE COLUMN [ROW]       a cell of a CSV with a header row; ROW is a 0-based
                                           index, negative from the end (default -1: the last row)
    figures.py csv-rows FILE               the number of data rows of a CSV
    figures.py files PATTERN               how many files match a glob pattern ("dir/*.hdf5")
    figures.py sha256 FILE                 sha256 of a file's bytes (for outputs written bit-for-bit)
    figures.py log FILE REGEX              the first capture group of the first line matching REGEX
    figures.py count FILE REGEX            how many lines match REGEX
    figures.py h5-sha256 FILE DATASET[,DATASET...]
                                           sha256 of datasets' shapes and values as little-endian
                                           bytes (independent of chunking, layout and metadata)
    figures.py h5-stat FILE DATASET STAT   min, max, mean, std, finite (1 when no NaN/Inf), size
    figures.py h5-attr FILE OBJECT ATTR    an attribute's value ("/" is the root group)
    figures.py h5-list FILE [GROUP]        sorted member names of a group, comma-separated
    figures.py h5-drift FILE DATASET       conservation: for data (trajectory, time, space...),
                                           max over trajectories and times of
                                           |sum(t) - sum(0)| / |sum(0)|, sums over space
    figures.py list-item FILE NAME INDEX   item INDEX of a libconfig list "NAME = [a, b, ...];"

    figures.py batch                       many figures in one process (HDF5 modules load once):
                                           reads "FIGURE TOLERANCE COMMAND ARGS..." lines on stdin
                                           (TOLERANCE "-" for the default), prints
                                           "FIGURE VALUE [TOLERANCE]" lines; fails on the first error

HDF5 figures use h5py (Debian: python3-h5py); a missing module is reported, never guessed.
Every failure exits non-zero with a message naming the file and what was asked.
"""
import csv
import glob
import hashlib
import re
import sys


def die(message):
    sys.stderr.write(f"figures.py: {message}\n")
    sys.exit(1)


def read_csv(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    if not rows:
        die(f"{path}: empty CSV (no header row)")
    return rows[0], rows[1:]


def csv_cell(path, column, row="-1"):
    header, rows = read_csv(path)
    if column not in header:
        die(f"{path}: no column '{column}' (columns: {', '.join(header)})")
    index = int(row)
    if not -len(rows) <= index < len(rows):
        die(f"{path}: no row {index} ({len(rows)} data rows)")
    return rows[index][header.index(column)]


def csv_rows(path):
    return str(len(read_csv(path)[1]))


def count_files(pattern):
    return str(len(glob.glob(pattern)))


def sha256_file(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    return digest.hexdigest()


def log_lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")


def log_match(path, pattern):
    for line in log_lines(path):
        m = re.search(pattern, line)
        if m:
            return m.group(1) if m.groups() else m.group(0)
    die(f"{path}: no line matches /{pattern}/")


def log_count(path, pattern):
    return str(sum(1 for line in log_lines(path) if re.search(pattern, line)))


def numpy():
    try:
        import numpy as np
    except ImportError:
        die("HDF5 figures need numpy and h5py (Debian: apt-get install python3-h5py)")
    return np


def h5_open(path):
    try:
        import h5py  # noqa: imported here so that CSV-only suites need no HDF5 module
    except ImportError:
        die("HDF5 figures need the h5py module (Debian: apt-get install python3-h5py)")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        die(f"cannot open {path} as HDF5: {e}")


def h5_dataset(f, path, name):
    if name not in f:
        die(f"{path}: no dataset '{name}'")
    return f[name][()]


def h5_sha256(path, names):
    np = numpy()
    digest = hashlib.sha256()
    with h5_open(path) as f:
        for name in names.split(","):
            data = np.asarray(h5_dataset(f, path, name))
            little = data.astype(data.dtype.newbyteorder("<"), copy=False)
            digest.update(f"{name}{data.shape}{little.dtype.str}".encode())
            digest.update(np.ascontiguousarray(little).tobytes())
    return digest.hexdigest()


def h5_stat(path, name, stat):
    np = numpy()
    with h5_open(path) as f:
        data = np.asarray(h5_dataset(f, path, name), dtype=np.float64)
    stats = {
        "min": lambda: data.min(),
        "max": lambda: data.max(),
        "mean": lambda: data.mean(),
        "std": lambda: data.std(),
        "finite": lambda: int(np.isfinite(data).all()),
        "size": lambda: data.size,
    }
    if stat not in stats:
        die(f"unknown statistic '{stat}' (one of {', '.join(stats)})")
    value = stats[stat]()
    return str(value) if isinstance(value, int) else f"{value:.9g}"


def h5_drift(path, name):
    np = numpy()
    with h5_open(path) as f:
        data = np.asarray(h5_dataset(f, path, name), dtype=np.float64)
    if data.ndim < 3:
        die(f"{path}: '{name}' has shape {data.shape}, not (trajectory, time, space...)")
    sums = data.reshape(data.shape[0], data.shape[1], -1).sum(axis=2)
    return f"{float(np.max(np.abs(sums - sums[:, :1]) / np.abs(sums[:, :1]))):.3g}"


def list_item(path, name, index):
    pattern = re.compile(r"^\s*" + re.escape(name) + r"\s*[=:]\s*[\[(]([^\])]*)[\])]")
    for line in log_lines(path):
        m = pattern.search(line)
        if m:
            items = [item.strip().strip('"') for item in m.group(1).split(",")]
            if not -len(items) <= int(index) < len(items):
                die(f"{path}: '{name}' has {len(items)} items, no item {index}")
            return items[int(index)]
    die(f"{path}: no list '{name}'")


def h5_attr(path, obj, attr):
    with h5_open(path) as f:
        if obj not in f:
            die(f"{path}: no object '{obj}'")
        attrs = f[obj].attrs
        if attr not in attrs:
            die(f"{path}: '{obj}' has no attribute '{attr}'")
        value = attrs[attr]
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).replace(" ", "_")


def h5_list(path, group="/"):
    with h5_open(path) as f:
        if group not in f:
            die(f"{path}: no group '{group}'")
        return ",".join(sorted(f[group].keys()))


COMMANDS = {
    "csv": (csv_cell, (2, 3)),
    "csv-rows": (csv_rows, (1,)),
    "files": (count_files, (1,)),
    "sha256": (sha256_file, (1,)),
    "log": (log_match, (2,)),
    "count": (log_count, (2,)),
    "h5-sha256": (h5_sha256, (2,)),
    "h5-stat": (h5_stat, (3,)),
    "h5-attr": (h5_attr, (3,)),
    "h5-list": (h5_list, (1, 2)),
    "h5-drift": (h5_drift, (2,)),
    "list-item": (list_item, (3,)),
}


def run_command(argv, where="figures.py"):
    if not argv or argv[0] not in COMMANDS:
        die(f"{where}: unknown command '{' '.join(argv)}'")
    function, arities = COMMANDS[argv[0]]
    if len(argv) - 1 not in arities:
        die(f"{where}: wrong number of arguments in '{' '.join(argv)}'")
    return function(*argv[1:])


def batch(lines):
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 3:
            die(f"batch line {lineno}: expected 'FIGURE TOLERANCE COMMAND ARGS...', got '{line.strip()}'")
        value = run_command(parts[2:], f"batch line {lineno}")
        print(parts[0], value, *([] if parts[1] == "-" else [parts[1]]), flush=True)
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "batch":
        return batch(sys.stdin)
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(__doc__)
    function, arities = COMMANDS[argv[1]]
    if len(argv) - 2 not in arities:
        sys.exit(__doc__)
    print(function(*argv[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
