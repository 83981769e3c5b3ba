#!/usr/bin/env python3
"""Benchmark `certpipe convert` against a plain-cryptography baseline and an openssl CLI loop.

    python bench/run.py [--sizes 100,1000,10000] [--jobs 1,2] [--repeat 3] [--openssl-max 1000]

For each size N: generate (or reuse) a corpus under bench/.corpus/, then time each tool as
a child process over --repeat runs, the tools taking turns (run 1 of each, then run 2 of
each, ...) so a drift in the machine's speed reaches them alike, and report the median wall
time, user+sys CPU (from
os.wait4, so it includes every process the child waited for: pool workers, openssl runs)
and peak RSS (ru_maxrss: the largest single process in that tree, not a sum).
items/s = the number of items the cryptography baseline found in that corpus / wall time,
for every tool, so all rows divide the same count.  The openssl loop runs only on corpora
of up to --openssl-max items; for bigger N its items/s is measured on the --openssl-max
corpus and its wall/CPU are extrapolated linearly (marked ~).  Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = ("certpipe", "baseline", "openssl")


def die(msg: str) -> None:
    print(f"run.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def csv_ints(s: str) -> list[int]:
    try:
        vals = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {s!r}")
    return vals


def timed(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run cmd to completion; wall, user+sys CPU and peak RSS of it and its waited-for children."""
    with open(log, "wb") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    return {
        "rc": p.returncode,
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "user": ru.ru_utime,
        "sys": ru.ru_stime,
        "peak_mib": ru.ru_maxrss / 1024,
    }


def settle() -> None:
    """Flush deletions (and let the disk go quiet) before the next timed run."""
    os.sync()
    time.sleep(1.0)


def log_tail(log: Path, n: int = 8) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def count_found(out: Path) -> int:
    """Bundles written: OUT/<name>/ directories holding a secret.json (all three tools write one)."""
    if not out.is_dir():
        return 0
    return sum(1 for d in out.iterdir() if d.is_dir() and (d / "secret.json").is_file())


class Bench:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.work = Path(tempfile.mkdtemp(prefix="certpipe-bench-", dir=a.work_dir))
        self.corpora: dict[int, dict] = {}
        self.rows: list[dict] = []
        self.outputs: list[Path] = []  # this round's output folders, deleted when it ends
        self.measured: dict[tuple, dict] = {}  # (tool, corpus N, jobs) -> medians, reused by extrapolation

    # ---------------------------------------------------------------- corpora
    def corpus(self, n: int) -> dict:
        if n in self.corpora:
            return self.corpora[n]
        a = self.a
        keys = "distinct" if a.distinct_keys else "pool"
        path = a.corpus_dir / f"n{n}-{a.key_type}-{keys}-s{a.seed}"
        meta = path / "corpus.json"
        gen_s = None
        try:
            ok = json.loads(meta.read_text()).get("n") == n
        except (OSError, ValueError):
            ok = False
        if not ok or a.regenerate:
            cmd = [
                a.python,
                str(HERE / "make_corpus.py"),
                str(n),
                str(path),
                "--seed",
                str(a.seed),
                "--key-type",
                a.key_type,
                "--force",
            ] + (["--distinct-keys"] if a.distinct_keys else [])
            print(f"  generating corpus N={n} ({a.key_type}, {keys} keys) in {path} ...", flush=True)
            t0 = time.perf_counter()
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            gen_s = time.perf_counter() - t0
            if r.returncode != 0:
                die(f"make_corpus.py failed for N={n}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
            print(f"  {r.stdout.strip()}", flush=True)
        else:
            print(f"  reusing corpus N={n}: {path}", flush=True)
        # Count (and warm the page cache): one untimed baseline run; its item count is the
        # denominator of every items/s figure for this corpus.
        out = self.work / f"count-{n}"
        log = self.work / f"count-{n}.log"
        r = timed(
            [
                a.python,
                str(HERE / "baseline_cryptography.py"),
                str(path),
                str(out),
                "--jobs",
                str(max(a.jobs)),
            ],
            log,
        )
        if r["rc"] != 0:
            die(f"baseline failed on N={n} while counting items:\n{log_tail(log)}")
        items = json.loads((out / "manifest.json").read_text())["items"]
        self.outputs.append(out)  # deleted with the round's outputs, not just before a timed run
        c = {"n": n, "path": str(path), "items": items, "generated_seconds": gen_s}
        self.corpora[n] = c
        return c

    # ---------------------------------------------------------------- tools
    def command(self, tool: str, corpus: Path, out: Path, jobs: int) -> list[str]:
        a = self.a
        if tool == "certpipe":
            return [
                a.certpipe,
                "convert",
                str(corpus),
                "--out",
                str(out),
                "--password-file",
                str(corpus / "passwords.txt"),
                "--fail-on",
                "never",
                "--jobs",
                str(jobs),
            ]
        if tool == "baseline":
            return [
                a.python,
                str(HERE / "baseline_cryptography.py"),
                str(corpus),
                str(out),
                "--password-file",
                str(corpus / "passwords.txt"),
                "--jobs",
                str(jobs),
            ]
        return ["bash", str(HERE / "openssl_loop.sh"), str(corpus), str(out)]

    def repeats(self, tool: str) -> int:
        a = self.a
        return a.openssl_repeat if tool == "openssl" and a.openssl_repeat else a.repeat

    def time_one(self, tool: str, c: dict, jobs: int, i: int) -> dict:
        out = self.work / f"{tool}-n{c['n']}-j{jobs}-r{i}"
        log = self.work / f"{tool}-n{c['n']}-j{jobs}-r{i}.log"
        r = timed(self.command(tool, Path(c["path"]), out, jobs), log)
        r["found"] = count_found(out)
        # Deleted only after the whole round: deleting thousands of files just before a timed run
        # cost that run up to 0.5 s of system time here, even after sync and a pause (ext4 with
        # online discard), and a real user does not delete a share's worth of files first.
        self.outputs.append(out)
        status = "ok" if r["rc"] == 0 else f"FAILED rc={r['rc']}"
        print(
            f"    {tool:<8} N={c['n']:<6} jobs={jobs} run {i + 1}/{self.repeats(tool)}: {r['wall']:.2f}s wall, "
            f"{r['cpu']:.2f}s CPU, {r['peak_mib']:.0f} MiB, {r['found']} bundles ({status})",
            flush=True,
        )
        if r["rc"] != 0:
            print("      " + log_tail(log).replace("\n", "\n      "), flush=True)
        return r

    def time_round_robin(self, c: dict, configs: list[tuple[str, int]]) -> None:
        """Run every (tool, jobs) on corpus c in turn, run 1 of each, then run 2 of each, ...: a drift
        in the machine's speed (shared hosts slow down under sustained load) then reaches every tool
        alike instead of the one timed last. A tool that fails stops its own runs."""
        todo = [cfg for cfg in configs if (cfg[0], c["n"], cfg[1]) not in self.measured]
        runs: dict[tuple[str, int], list[dict]] = {cfg: [] for cfg in todo}
        for i in range(max((self.repeats(t) for t, _ in todo), default=0)):
            for tool, jobs in todo:
                done = runs[(tool, jobs)]
                if i < self.repeats(tool) and not (done and done[-1]["rc"] != 0):
                    done.append(self.time_one(tool, c, jobs, i))
        for (tool, jobs), done in runs.items():
            self.measured[(tool, c["n"], jobs)] = done
        for out in self.outputs:
            shutil.rmtree(out, ignore_errors=True)
        self.outputs.clear()
        settle()

    def measure(self, tool: str, n: int, jobs: int) -> dict:
        a = self.a
        extrapolated = tool == "openssl" and n > a.openssl_max
        c = self.corpus(a.openssl_max if extrapolated else n)
        key = (tool, c["n"], jobs)
        if key not in self.measured:
            self.time_round_robin(c, [(tool, jobs)])
        runs = self.measured[key]
        good = [r for r in runs if r["rc"] == 0]
        row = {
            "tool": tool,
            "n": n,
            "jobs": jobs,
            "corpus_n": c["n"],
            "items": c["items"],
            "extrapolated": extrapolated,
            "repeat": len(runs),
            "runs": runs,
            "ok": bool(good) and len(good) == len(runs),
        }
        if row["ok"]:
            wall = statistics.median(r["wall"] for r in good)
            cpu = statistics.median(r["cpu"] for r in good)
            row.update(
                wall=wall,
                cpu=cpu,
                peak_mib=statistics.median(r["peak_mib"] for r in good),
                found=statistics.median(r["found"] for r in good),
                items_per_s=c["items"] / wall if wall > 0 else float("inf"),
            )
            if extrapolated:
                scale = self.corpus(n)["items"] / c["items"] if c["items"] else 0
                row.update(wall=wall * scale, cpu=cpu * scale, items=self.corpus(n)["items"])
        return row

    def run(self) -> None:
        a = self.a
        for n in a.sizes:
            print(f"N={n}", flush=True)
            c = self.corpus(n)
            configs = [
                (tool, j)
                for tool in a.tools
                for j in ([1] if tool == "openssl" else a.jobs)
                if not (tool == "openssl" and (a.openssl_max < 1 or n > a.openssl_max))
            ]
            self.time_round_robin(c, configs)  # runs alternate between the tools
            for tool in a.tools:
                if tool == "openssl":
                    if a.openssl_max >= 1:
                        self.rows.append(self.measure(tool, n, 1))
                    continue
                for j in a.jobs:
                    self.rows.append(self.measure(tool, n, j))

    # ---------------------------------------------------------------- report
    def find(self, tool: str, n: int, jobs: int | None = None) -> dict | None:
        for r in self.rows:
            if r["tool"] == tool and r["n"] == n and (jobs is None or r["jobs"] == jobs) and r["ok"]:
                return r
        return None

    def ratios(self) -> list[dict]:
        out = []
        for r in self.rows:
            if r["tool"] != "certpipe" or not r["ok"]:
                continue
            b, o = self.find("baseline", r["n"], r["jobs"]), self.find("openssl", r["n"])
            out.append(
                {
                    "n": r["n"],
                    "jobs": r["jobs"],
                    "speed_vs_baseline": r["items_per_s"] / b["items_per_s"] if b else None,
                    "cpu_vs_baseline": r["cpu"] / b["cpu"] if b and b["cpu"] else None,
                    "speed_vs_openssl": r["items_per_s"] / o["items_per_s"] if o else None,
                    "openssl_extrapolated": bool(o and o["extrapolated"]),
                }
            )
        return out

    def report(self) -> str:
        lines = [
            f"{'tool':<9} {'N':>6} {'jobs':>4} {'items':>6} {'found':>6} {'items/s':>9} "
            f"{'wall s':>9} {'CPU s':>9} {'peak MiB':>9}"
        ]
        for r in self.rows:
            head = f"{r['tool']:<9} {r['n']:>6} {r['jobs']:>4} {r['items']:>6}"
            if not r["ok"]:
                lines.append(f"{head}  FAILED (rc={r['runs'][-1]['rc'] if r['runs'] else '?'})")
                continue
            t = "~" if r["extrapolated"] else ""
            found = f"{r['found']:.0f}" + ("*" if r["extrapolated"] else "")
            lines.append(
                f"{head} {found:>6} {r['items_per_s']:>9.1f} {t + format(r['wall'], '.2f'):>9} "
                f"{t + format(r['cpu'], '.2f'):>9} {r['peak_mib']:>9.0f}"
            )
        notes = [
            "items = items the cryptography baseline found in the corpus; items/s = items / median wall."
        ]
        if any(r["extrapolated"] for r in self.rows):
            notes.append(
                f"~ = openssl loop extrapolated from its N={self.a.openssl_max} run "
                f"(* = bundles it wrote there)."
            )
        rat = self.ratios()
        if rat:
            lines += [
                "",
                f"{'N':>6} {'jobs':>4} {'certpipe/baseline items/s':>26} {'CPU':>6} "
                f"{'certpipe/openssl items/s':>25}",
            ]

            def fmt(v, w):
                return f"{v:>{w}.2f}x" if v is not None else f"{'-':>{w + 1}}"

            for x in rat:
                lines.append(
                    f"{x['n']:>6} {x['jobs']:>4} {fmt(x['speed_vs_baseline'], 25)} "
                    f"{fmt(x['cpu_vs_baseline'], 5)} {fmt(x['speed_vs_openssl'], 24)}"
                    + (" ~" if x["openssl_extrapolated"] else "")
                )
            notes.append(
                "ratios > 1 mean certpipe is faster (items/s) / uses more CPU (CPU column); "
                "certpipe/openssl compares against the serial openssl loop."
            )
        return "\n".join([*lines, "", *notes])

    def save(self, path: Path) -> None:
        def version(cmd):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
                return (r.stdout or r.stderr).strip().splitlines()[0] if r.returncode == 0 else None
            except (OSError, subprocess.SubprocessError, IndexError):
                return None

        doc = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "host": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
            },
            "versions": {
                "certpipe": version([self.a.certpipe, "--version"]) if "certpipe" in self.a.tools else None,
                "openssl": version(["openssl", "version"]),
            },
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.a).items()},
            "items_definition": "items the cryptography baseline found in the corpus",
            "corpora": list(self.corpora.values()),
            "results": self.rows,
            "ratios": self.ratios(),
        }
        path.write_text(json.dumps(doc, indent=1) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=csv_ints, default=[100, 1000, 10000])
    ap.add_argument(
        "--jobs", type=csv_ints, default=[1, 2], help="--jobs values for certpipe and the baseline"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    ap.add_argument(
        "--openssl-max", type=int, default=1000, help="largest corpus the openssl loop runs on (0 = skip it)"
    )
    ap.add_argument(
        "--openssl-repeat", type=int, default=0, help="runs for the openssl loop (default: --repeat)"
    )
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS))
    ap.add_argument("--key-type", choices=["rsa2048", "ec256", "mixed"], default="mixed")
    ap.add_argument("--distinct-keys", action="store_true", help="a fresh key per item (slow to generate)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--corpus-dir", type=Path, default=HERE / ".corpus", help="corpus cache (default bench/.corpus)"
    )
    ap.add_argument("--regenerate", action="store_true", help="rebuild cached corpora")
    ap.add_argument(
        "--work-dir", default=None, help="where tool outputs go while timed (default: system temp)"
    )
    ap.add_argument(
        "--python", default=sys.executable, help="interpreter with cryptography, for the corpus and baseline"
    )
    ap.add_argument("--certpipe", default="certpipe", help="certpipe executable (default: certpipe on PATH)")
    ap.add_argument("--json", type=Path, help="also save all figures (every run) to this file")
    a = ap.parse_args(argv)
    a.tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    if bad := [t for t in a.tools if t not in TOOLS]:
        ap.error(f"unknown tool(s) {bad}; choose from {list(TOOLS)}")
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    if "certpipe" in a.tools:
        found = shutil.which(a.certpipe)
        if not found:
            die(
                f"'{a.certpipe}' is not on PATH: install the project (pip install -e .) in this environment, "
                f"or pass --tools baseline,openssl"
            )
        a.certpipe = found
    if "openssl" in a.tools and a.openssl_max >= 1 and not (shutil.which("openssl") and shutil.which("bash")):
        die("the openssl loop needs 'openssl' and 'bash' on PATH (or pass --openssl-max 0)")
    r = subprocess.run([a.python, "-c", "import cryptography"], capture_output=True)
    if r.returncode != 0:
        die(
            f"{a.python} cannot import cryptography (needed by make_corpus.py and the baseline); use --python"
        )
    a.corpus_dir.mkdir(parents=True, exist_ok=True)
    b = Bench(a)
    print(
        f"certpipe bench: sizes {a.sizes}, jobs {a.jobs}, repeat {a.repeat}, tools {a.tools}, "
        f"{os.cpu_count()} CPUs; outputs in {b.work}",
        flush=True,
    )
    try:
        b.run()
    finally:
        print()
        print(b.report())
        if a.json:
            b.save(a.json)
            print(f"\nfigures saved to {a.json}")
        shutil.rmtree(b.work, ignore_errors=True)
    return 0 if all(r["ok"] for r in b.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
