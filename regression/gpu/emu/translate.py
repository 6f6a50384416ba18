#!/usr/bin/env python3
"""Rewrite a CUDA source for the emulator (cuemu.h): every launch
K<<<grid, block[, smem[, stream]]>>>(args) becomes
cuemu::launch("K", K, grid, block, smem, stream)(args), and every
`extern __shared__ T name[];` a pointer to the block's dynamic shared memory,
and every static `__shared__` declaration is followed by a call that fills
it with NaN bytes when a new block starts.
The rest is C++ that g++ compiles with cuemu.h included first.

usage: translate.py IN.cu OUT.cu"""
import re
import sys


def kernel_start(src, end):
    """Where the kernel expression that ends at `end` begins: a name with
    optional namespaces and one template argument list."""
    i = end
    while i > 0 and src[i - 1].isspace():
        i -= 1
    if i > 0 and src[i - 1] == ">":  # template arguments: back to the matching '<'
        depth = 0
        while i > 0:
            i -= 1
            depth += {">": 1, "<": -1}.get(src[i], 0)
            if depth == 0:
                break
    while i > 0 and (src[i - 1].isalnum() or src[i - 1] in "_:"):
        i -= 1
    return i


def deduced_templates(src):
    """The kernels defined in src as templates: launched without template
    arguments, theirs are deduced from the call."""
    names = set()
    for m in re.finditer(r"template\s*<[^;{]*?>\s*__global__[^;{(]*?(\w+)\s*\(", src):
        names.add(m.group(1))
    return names


def rewrite_launches(src, path):
    templates = deduced_templates(src)
    out, pos = [], 0
    while True:
        at = src.find("<<<", pos)
        if at < 0:
            break
        start = kernel_start(src, at)
        kernel = src[start:at].strip()
        close = src.find(">>>", at)
        paren = close + 3
        while src[paren].isspace():
            paren += 1
        if not kernel or close < 0 or src[paren] != "(":
            line = src.count("\n", 0, at) + 1
            sys.exit(f"{path}:{line}: a launch translate.py cannot read")
        config = " ".join(src[at + 3:close].split())
        name = re.sub(r"\s+", "", kernel)
        out.append(src[pos:start])
        if name in templates:  # no template arguments given: deduce them at the call
            out.append(f'cuemu::launch_deduced("{name}", {config})([](auto... a) {{ {kernel}(a...); }}, ')
        else:
            out.append(f'cuemu::launch("{name}", {kernel}, {config})(')
        pos = paren + 1
    out.append(src[pos:])
    return "".join(out)


EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+)?([\w\s]+?)\s+(\w+)\s*\[\s*\]\s*;")


# A static `__shared__ T name[...]...;` at the start of a line, one
# declarator: the call goes on the same line, so lines stay.
STATIC_SHARED = re.compile(
    r"^[ \t]*__shared__[ \t]+(?:__align__\(\s*\d+\s*\)[ \t]+)?[\w \t]+?[ \t]+(\w+)[ \t]*(?:\[[^\];\n]*\][ \t]*)*;",
    re.MULTILINE)


def without_comments(src):
    """src with its comments and string literals blanked, newlines kept (for line numbers)."""
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', blank, src, flags=re.DOTALL)


def check_shared_rewritten(src, path):
    """Every __shared__ left in code must be a static declaration given its
    fresh_shared call: anything else would keep the last block's values."""
    for n, line in enumerate(without_comments(src).split("\n"), 1):
        if "__shared__" in line and "cuemu::fresh_shared" not in line:
            sys.exit(f"{path}:{n}: a __shared__ declaration translate.py cannot read (one declarator per line)")


def main():
    src_path, out_path = sys.argv[1], sys.argv[2]
    src = open(src_path).read()
    src = rewrite_launches(src, src_path)
    src = EXTERN_SHARED.sub(lambda m: f"{m.group(1)} *{m.group(2)} = ({m.group(1)} *)cuemu::dynamic_smem();", src)
    src = STATIC_SHARED.sub(
        lambda m: f"{m.group(0)} cuemu::fresh_shared((void *)&{m.group(1)}, sizeof {m.group(1)});", src)
    check_shared_rewritten(src, src_path)
    # Keep the original file and lines in diagnostics.
    with open(out_path, "w") as f:
        f.write(f'#line 1 "{src_path}"\n' + src)


if __name__ == "__main__":
    main()
