#!/usr/bin/env python3
"""The manual pages against the programs' --help: a synopsis that omits an
option of the program's usage, or names one the program does not have,
fails the test; so does a command without an entry, or an entry for a
command that does not exist.

usage: man_check.py medshim PROGRAM MANPAGE
       man_check.py medshim-sim PROGRAM MANPAGE

medshim: each `medshim COMMAND [SUB] --help` usage (the block that starts
with "usage:" and ends at the first blank line) against the synopsis of the
command's entry under COMMANDS (the .TP tag, with the macro lines that
follow it up to .br or the first line of text).
medshim-sim: its usage against SYNOPSIS, and against the tags of OPTIONS.
"""
import re
import subprocess
import sys

OPTION = re.compile(r"--[a-z0-9][a-z0-9-]*")
IGNORED = {"--help"}


def run_help(argv):
    p = subprocess.run(argv + ["--help"], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} --help: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def usage_entries(text, program):
    """{(command, sub): set of options} from the usage block of --help."""
    block = []
    for line in text.splitlines():
        if not block and not line.startswith("usage:"):
            continue
        if block and not line[:1].isspace():
            break  # the usage ends at a blank or unindented line
        block.append(line)
    entries = {}
    key = None
    for line in block:
        words = line.replace("usage:", "", 1).split()
        if words and words[0] == program:
            cmd = words[1] if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]) else ""
            sub = ""
            if cmd and len(words) > 2 and re.fullmatch(r"[a-z]+", words[2]):
                sub = words[2]
            key = (cmd, sub)
            entries.setdefault(key, set())
        if key is not None:
            entries[key] |= set(OPTION.findall(line)) - IGNORED
    return entries


def roff_text(line):
    """A roff line as the words it prints."""
    line = re.sub(r"^\.(B|I|R|BR|RB|BI|IB|IR|RI|TP|SH|PP|br)\b", "", line)
    line = line.replace("\\-", "-").replace('"', " ")
    line = re.sub(r"\\f[BIRP]", "", line)
    line = re.sub(r"\\\[[^\]]*\]|\\\(..", "", line)
    return line


def sections(lines):
    """{section name: [lines]}"""
    out, name = {}, None
    for line in lines:
        if line.startswith(".SH"):
            name = line[3:].strip().strip('"')
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def tp_entries(lines):
    """[(tag synopsis text, whole entry text)] of the .TP entries."""
    entries, i = [], 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            syn = [lines[i + 1]]
            j = i + 2
            while j < len(lines) and lines[j].startswith(".") and not lines[j].startswith((".br", ".TP", ".PP")):
                syn.append(lines[j])
                j += 1
            k = j
            while k < len(lines) and not lines[k].startswith((".TP", ".PP")):
                k += 1
            entries.append((" ".join(roff_text(l) for l in syn), " ".join(roff_text(l) for l in lines[i + 1:k])))
            i = k
        else:
            i += 1
    return entries


def split_synopsis(text, commands, subcommands):
    """{(command, sub): options} from one entry's synopsis, which may name
    several commands ("void, retry, expire --journal ...") or hold several
    synopses ("report [...], export --manual [...]")."""
    tokens = text.split()
    found, current = [], None
    for t in tokens:
        w = t.strip(",;()[]")
        if current is not None and not current[1] and not current[2] and w in subcommands.get(current[0], ()):
            current[1] = w
        elif w in commands:
            current = [w, "", set()]
            found.append(current)
        elif current is not None:
            current[2] |= set(OPTION.findall(t)) - IGNORED
    # "void, retry, expire --journal ...": a command with no options of its
    # own right before another shares that one's.
    for n in range(len(found) - 2, -1, -1):
        if not found[n][2] and not found[n][1]:
            nxt = found[n + 1]
            if tokens_adjacent(text, found[n][0], nxt[0]):
                found[n][2] = set(nxt[2])
    return {(c, s): o for c, s, o in found}


def tokens_adjacent(text, a, b):
    return re.search(r"\b%s\b[\s,]*\b%s\b" % (re.escape(a), re.escape(b)), text) is not None


def check_medshim(program, man_lines):
    errors = []
    top = run_help([program])
    commands = []
    in_list = False
    for line in top.splitlines():
        if line.startswith("commands:"):
            in_list = True
        elif in_list and re.match(r"^  [a-z]+\s", line):
            commands.append(line.split()[0])
        elif in_list and not line.strip():
            in_list = False
    if not commands:
        sys.exit(f"{program} --help lists no commands")
    usage = {}
    subcommands = {}
    for cmd in commands:
        entries = usage_entries(run_help([program, cmd]), "medshim")
        if not entries:
            errors.append(f"medshim {cmd} --help: no usage")
        for (c, s), opts in entries.items():
            usage[(c, s)] = opts
            if s:
                subcommands.setdefault(c, set()).add(s)
    sec = sections(man_lines)
    if "COMMANDS" not in sec:
        sys.exit("the manual page has no COMMANDS section")
    man = {}
    for syn, _ in tp_entries(sec["COMMANDS"]):
        for key, opts in split_synopsis(syn, set(commands), subcommands).items():
            man.setdefault(key, set()).update(opts)
    # An entry for the command as a whole ("schedule lint|...|keygen")
    # covers its subcommands' names; their options must still be listed.
    for key, opts in sorted(usage.items()):
        name = " ".join(k for k in key if k)
        have = man.get(key)
        if have is None and key[1]:
            have = man.get((key[0], ""))
        if have is None:
            errors.append(f"medshim {name}: in --help, no entry in the manual page")
            continue
        for o in sorted(opts - have):
            errors.append(f"medshim {name}: {o} is in --help, not in the manual page's synopsis")
    for key, opts in sorted(man.items()):
        name = " ".join(k for k in key if k)
        if key not in usage:
            subs = [k for k in usage if k[0] == key[0]]
            if key[1] or not subs:
                errors.append(f"medshim {name}: in the manual page, not a command of --help")
                continue
            known = set().union(*(usage[k] for k in subs))
        else:
            known = usage[key]
        for o in sorted(opts - known):
            errors.append(f"medshim {name}: {o} is in the manual page's synopsis, not in --help")
    return errors


def check_sim(program, man_lines):
    errors = []
    entries = usage_entries(run_help([program]), "medshim-sim")
    opts = set().union(*entries.values()) if entries else set()
    if not opts:
        sys.exit(f"{program} --help: no usage")
    sec = sections(man_lines)
    for name in ("SYNOPSIS", "OPTIONS"):
        if name not in sec:
            errors.append(f"medshim-sim: the manual page has no {name}")
    syn = set(OPTION.findall(" ".join(roff_text(l) for l in sec.get("SYNOPSIS", [])))) - IGNORED
    tags = set()
    for tag, _ in tp_entries(sec.get("OPTIONS", [])):
        tags |= set(OPTION.findall(tag.split()[0] if tag.split() else "")) - IGNORED
    for what, have in (("SYNOPSIS", syn), ("OPTIONS", tags)):
        for o in sorted(opts - have):
            errors.append(f"medshim-sim: {o} is in --help, not in the manual page's {what}")
        for o in sorted(have - opts):
            errors.append(f"medshim-sim: {o} is in the manual page's {what}, not in --help")
    return errors


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("medshim", "medshim-sim"):
        sys.exit(__doc__)
    with open(sys.argv[3], encoding="utf-8") as f:
        lines = f.read().splitlines()
    check = check_medshim if sys.argv[1] == "medshim" else check_sim
    errors = check(sys.argv[2], lines)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(f"{sys.argv[3]}: {len(errors)} disagreements with --help")
    print(f"{sys.argv[3]}: agrees with {sys.argv[1]} --help")


if __name__ == "__main__":
    main()
