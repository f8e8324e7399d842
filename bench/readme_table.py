#!/usr/bin/env python3
"""The README's performance table, made from a bench/run_all results file.

Every figure in the table comes from a RESULT line of the benches, and
whether each target is met is computed here, never typed. The table goes
between the README's "bench-table" markers.

usage: readme_table.py [RESULTS] [--readme README.md] [--check]
  RESULTS  a bench/results/*.txt file (default: the newest one)
  --check  change nothing; exit 1 when the README's table is not what
           RESULTS gives (CI runs this, so the table cannot be hand-edited)
"""
import argparse
import pathlib
import sys

BEGIN = "<!-- bench-table:begin (made by bench/readme_table.py: do not edit) -->"
END = "<!-- bench-table:end -->"


def load(path):
    header, r = {}, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 1)
        if parts[0] == "RESULT":
            key, value = parts[1].split(" ")[:2]
            r[key] = float(value)
        elif parts[0] in ("DATE", "COMMIT", "MACHINE", "DISK", "LOAD_BEFORE",
                          "LOAD_AFTER") and len(parts) == 2:
            header[parts[0]] = parts[1]
    return header, r


def met(ok):
    return "met" if ok else "**not met**"


def rows(r):
    """(what, figure, target, verdict) for each figure present."""
    out = []

    def have(*keys):
        return all(k in r for k in keys)

    if have("defer1_vs_raw", "defer1_claims_s", "raw_ops_s", "record_bytes"):
        out.append((
            f"durable defers, 1 thread, vs a raw write+fdatasync loop of the "
            f"same record size ({r['record_bytes']:.0f} bytes)",
            f"{r['defer1_vs_raw']:.2f}x ({r['defer1_claims_s']:,.0f}/s vs "
            f"{r['raw_ops_s']:,.0f}/s)",
            "within 1.2x", met(r["defer1_vs_raw"] <= 1.2)))
    if have("defer8_vs_sqlite8", "defer8_claims_s", "sqlite8_claims_s"):
        out.append((
            "durable defers, 8 threads (group commit), vs SQLite WAL "
            "synchronous=FULL, a transaction per claim, 8 connections",
            f"{r['defer8_vs_sqlite8']:.1f}x ({r['defer8_claims_s']:,.0f}/s vs "
            f"{r['sqlite8_claims_s']:,.0f}/s)", "", ""))
    if have("bulk_vs_sqlite_median", "bulk_vs_sqlite_min", "bulk_vs_sqlite_max",
            "bulk_medshim_s", "bulk_sqlite_s"):
        out.append((
            "bulk `medshim defer` of 3,000 claims from a file (a new process, "
            "a new journal) vs SQLite inserting them in one transaction",
            f"median {r['bulk_vs_sqlite_median']:.2f}x per round (range "
            f"{r['bulk_vs_sqlite_min']:.2f}x-{r['bulk_vs_sqlite_max']:.2f}x; "
            f"{r['bulk_medshim_s'] * 1e3:.0f} ms vs "
            f"{r['bulk_sqlite_s'] * 1e3:.0f} ms)",
            "within 2x", met(r["bulk_vs_sqlite_median"] <= 2.0)))
    if have("bulk_pipe_s"):
        out.append(("the same through a pipe",
                    f"{r['bulk_pipe_s'] * 1e3:.0f} ms", "", ""))
    if have("bulk_vs_sqlite_import", "bulk_sqlite_import_s"):
        out.append((
            "the same vs a like-for-like SQLite import (read the file, "
            "jansson per line, one transaction)",
            f"{r['bulk_vs_sqlite_import']:.2f}x "
            f"({r['bulk_sqlite_import_s'] * 1e3:.0f} ms)", "", ""))
    if have("bulk_vs_sqlcipher_median", "bulk_vs_sqlcipher_min",
            "bulk_vs_sqlcipher_max", "bulk_sqlcipher_s"):
        out.append((
            "the same vs SQLCipher with a raw key (a new process, the same "
            "import)",
            f"median {r['bulk_vs_sqlcipher_median']:.2f}x per round (range "
            f"{r['bulk_vs_sqlcipher_min']:.2f}x-"
            f"{r['bulk_vs_sqlcipher_max']:.2f}x; SQLCipher "
            f"{r['bulk_sqlcipher_s'] * 1e3:.0f} ms)",
            "faster (below 1x)", met(r["bulk_vs_sqlcipher_median"] < 1.0)))
    if have("open_s", "open_claims", "open_rss_mib"):
        n = r["open_claims"]
        out.append((f"open a journal of {n:,.0f} claims",
                     f"{r['open_s']:.2f} s, peak RSS {r['open_rss_mib']:.0f} MiB",
                     "under 1 s (1,000,000 claims)",
                     met(r["open_s"] < 1.0) if n >= 1e6 else "not measured at 1M"))
    if have("walk_s", "open_claims"):
        out.append((f"walk all {r['open_claims']:,.0f} claims with their "
                     "status (`medshim_journal_foreach`)",
                     f"{r['walk_s']:.2f} s", "", ""))
    if have("list_cli_s", "open_claims"):
        n = r["open_claims"]
        out.append((f"`medshim list` of {n:,.0f} claims to /dev/null",
                     f"{r['list_cli_s']:.2f} s", "under 10 s (1,000,000 claims)",
                     met(r["list_cli_s"] < 10.0) if n >= 1e6
                     else "not measured at 1M"))
    if have("decide_350_ns", "decide_350_linear_ns", "decide_350_heap_growth"):
        out.append((
            "decision with 350 prefecture schedules",
            f"{r['decide_350_ns']:.0f} ns (linear scan "
            f"{r['decide_350_linear_ns']:.0f} ns); heap growth "
            f"{r['decide_350_heap_growth']:.0f} bytes",
            "under 200 ns, no allocation",
            met(r["decide_350_ns"] < 200 and r["decide_350_heap_growth"] == 0)))
    if have("decide_5_ns"):
        out.append(("decision with the five notices",
                    f"{r['decide_5_ns']:.0f} ns", "", ""))
    if have("replay_latency_ms", "replay_claims"):
        lat = r["replay_latency_ms"]
        for c in (1, 8):
            k = f"replay_inproc_c{c}_"
            if have(k + "pct_ideal", k + "pct_alone", k + "pct_floor"):
                out.append((
                    f"replay, in-process adapter, {lat:.0f} ms platform "
                    f"latency, concurrency {c}, journal on the disk",
                    f"{r[k + 'pct_ideal']:.1f}% of the ideal "
                    f"({lat / c:.2f} ms a claim); "
                    f"{r[k + 'pct_alone']:.1f}% of the adapter's sleeps alone; "
                    f"{r[k + 'pct_floor']:.1f}% of the durable floor (the sleeps "
                    f"plus one write+fdatasync a claim: "
                    f"{r[f'replay_floor_c{c}_ms']:.2f} ms)",
                    "95% of the ideal", met(r[k + "pct_ideal"] >= 95)))
        for c in (1, 8):
            k = f"replay_persistent_vs_inproc_c{c}"
            if have(k):
                out.append((
                    f"replay, persistent exec adapter vs in-process, per claim, "
                    f"concurrency {c}", f"{r[k]:.2f}x", "within 3x",
                    met(r[k] <= 3.0)))
    return out


def render(header, r, name):
    lines = [BEGIN, "",
             f"Measured {header.get('DATE', '?')} at commit "
             f"{header.get('COMMIT', '?')} on {header.get('MACHINE', '?')}, "
             f"disk {header.get('DISK', '?')}; load average "
             f"{header.get('LOAD_BEFORE', '?')} before and "
             f"{header.get('LOAD_AFTER', '?')} after. Raw output: "
             f"`bench/results/{name}` (`bench/run_all`).", "",
             "| what | figure | target | |", "|---|---|---|---|"]
    for what, figure, target, verdict in rows(r):
        lines.append(f"| {what} | {figure} | {target} | {verdict} |")
    lines += ["", END]
    return "\n".join(lines)


def main():
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?")
    ap.add_argument("--readme", default=str(here.parent / "README.md"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.results:
        path = pathlib.Path(a.results)
    else:
        found = sorted((here / "results").glob("*.txt"))
        if not found:
            sys.exit("readme_table.py: no bench/results/*.txt (run bench/run_all)")
        path = found[-1]
    header, r = load(path)
    if not r:
        sys.exit(f"readme_table.py: {path}: no RESULT lines")
    table = render(header, r, path.name)
    readme = pathlib.Path(a.readme)
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"readme_table.py: {readme}: the bench-table markers are missing")
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    if a.check:
        if text[start:end] != table:
            print(f"readme_table.py: the table in {readme} is not the one "
                  f"{path} gives; run bench/readme_table.py", file=sys.stderr)
            sys.exit(1)
        return
    readme.write_text(text[:start] + table + text[end:], encoding="utf-8")
    print(f"readme_table.py: {readme} table from {path}")


if __name__ == "__main__":
    main()
