#!/usr/bin/env python3
"""The C snippets of the docs, for compiling and running them in CI.

usage: extract.py MARKDOWN NAME OUT    write the ```c block that follows
                                       <!-- snippet: NAME --> to OUT
       extract.py --check MARKDOWN...  fail when a ```c block has no
                                       marker (so it would go unchecked)
"""
import sys

MARK = "<!-- snippet: "


def blocks(path):
    """[(name or None, first line number, code)]"""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out, name, i = [], None, 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith(MARK) and line.endswith("-->"):
            name = line[len(MARK):-3].strip()
        elif line == "```c":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out.append((name, start + 1, "\n".join(lines[start:j]) + "\n"))
            name, i = None, j
        elif line:
            name = None  # the marker must stand right before its block
        i += 1
    return out


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--check":
        bad = [(p, n) for p in args[1:] for name, n, _ in blocks(p) if name is None]
        for p, n in bad:
            print(f"{p}:{n}: a C snippet without <!-- snippet: NAME -->: "
                  "name it and compile it in tests/snippets/", file=sys.stderr)
        sys.exit(1 if bad else 0)
    if len(args) != 3:
        sys.exit(__doc__)
    path, name, out = args
    found = [(n, code) for b, n, code in blocks(path) if b == name]
    if len(found) != 1:
        sys.exit(f"{path}: {len(found)} snippets named {name}, not 1")
    n, code = found[0]
    text = f'#line {n} "{path}"\n{code}'
    try:
        with open(out, encoding="utf-8") as f:
            if f.read() == text:
                return  # unchanged: no rebuild
    except OSError:
        pass
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
