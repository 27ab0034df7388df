"""`make bench`: our analyzer against the tools people would use instead, in one run, same files.

    python -m bench.analyzer                 # full: ~2M-packet file (+ the 200k one), 3 runs each
    BENCH_PACKETS=500000 python -m bench.analyzer
    python -m bench.analyzer --quick --data /tmp/d --out /tmp/o   # tiny end-to-end check (tests)
    python -m bench.analyzer --no-profile    # skip the pyinstrument profile of ours (small file)
    python -m bench.analyzer --many-file x.pcap   # this capture as the many-connections input

Steps: make the inputs (bench/analyzer/inputs.py, cached in bench/data/: the replicated large and
small files, the large one's pcapng copy, and a real loopback capture of many short lab
connections, capture_base.loopback_capture), measure every peer in a child
process (bench/analyzer/peers.py) - the runs are interleaved round-robin so a burst of load from other work
on the machine hits every tool alike, and the medians are reported - then check agreement with
tshark frame by frame (bench/analyzer/agreement.py) and write bench/analyzer/results.md and results.png
(bench/analyzer/report.py).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.analyzer import capture_base, inputs, peers, report
from bench.analyzer.agreement import Agreement, compare

HERE = Path(__file__).resolve().parent       # results.md / results.png
ANALYZE_TOOL = "ours, analyze() + iterate frames"
REPORT_TOOL = "ours, make analyze (report files)"
SUMMARY_TOOL = "ours, --summary"
TSHARK2_TOOL = "tshark -2 (two-pass tcp.analysis)"
MANY_SEED = 13                               # the many-connections capture's session contents
OUT = HERE.parent / "out"                    # profiles, dumps, quick runs (not in git)


@dataclass(frozen=True)
class Plan:
    """What one bench run does (the full run or --quick)."""

    packets: int              # the large file
    small_packets: int        # the memory-flatness file
    runs: int                 # runs per fast measurement (median)
    slow_runs: int            # runs for pyshark (slow; on a slice)
    scapy_limit: int          # scapy reads the first N packets of the large file
    pyshark_slice: int        # pyshark reads a slice file of N packets
    base_connections: int     # loopback base only
    many_connections: int     # the real capture of many short connections (loopback)


@dataclass(frozen=True)
class Measurement:
    tool: str
    file: str                 # "large" | "small" | "slice"
    packets: int
    runs: tuple[float, ...]   # seconds per run
    max_rss_mb: float         # the highest peak RSS of the runs
    note: str = ""
    cpu_runs: tuple[float, ...] = ()    # CPU seconds per run (the Python peers; threads add up)

    @property
    def cpu_seconds(self) -> float | None:
        return statistics.median(self.cpu_runs) if self.cpu_runs else None

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def pps(self) -> float:
        return self.packets / self.seconds if self.seconds > 0 else float("inf")

    @property
    def pps_range(self) -> tuple[float, float]:
        return self.packets / max(self.runs), self.packets / min(self.runs)


def _plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(packets=args.packets or 6000, small_packets=args.small or 2000, runs=1, slow_runs=1,
                    scapy_limit=500, pyshark_slice=100, base_connections=20,
                    many_connections=args.many or 300)
    packets = args.packets or int(os.environ.get("BENCH_PACKETS", 2_000_000))
    return Plan(packets=packets, small_packets=args.small or max(1, packets // 10),
                runs=args.runs or int(os.environ.get("BENCH_RUNS", 3)), slow_runs=1,
                scapy_limit=min(50_000, packets), pyshark_slice=min(5_000, packets),
                base_connections=200, many_connections=args.many or 18_000)


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_inputs(plan: Plan, data: Path, source: str, scenarios: tuple[str, ...], regen: bool,
                base_file: Path | None = None, many_file: Path | None = None) -> dict:
    data.mkdir(parents=True, exist_ok=True)
    base = data / "base.pcap"
    how_file = data / "base.how"
    if base_file is not None:
        base.write_bytes(base_file.read_bytes())
        how_file.write_text(f"given: {base_file.name}")
    elif regen or not base.exists():
        _say(f"base capture ({source}) -> {base}")
        _, how = capture_base.base_capture(base, source=source, scenarios=scenarios,
                                     connections=plan.base_connections)
        how_file.write_text(how)
    how = how_file.read_text() if how_file.exists() else "unknown"
    files = {}
    for key, n in (("large", plan.packets), ("small", plan.small_packets)):
        path = data / f"bench-{n}.pcap"
        meta = data / f"bench-{n}.meta"
        # a replica file is valid only for the base it was made from
        if regen or not path.exists() or not meta.exists() or path.stat().st_mtime < base.stat().st_mtime:
            _say(f"replicating the base to ~{n:,} packets -> {path.name}")
            info = inputs.replicate(base, path, n)
            meta.write_text(f"{info.packets} {info.replicas} {info.base_packets} {info.base_connections}")
        packets, replicas, base_packets, base_conns = map(int, meta.read_text().split())
        files[key] = {"path": path, "packets": packets, "replicas": replicas}
    files["slice"] = {"path": data / f"slice-{plan.pyshark_slice}.pcap", "packets": 0}
    files["slice"]["packets"] = inputs.write_slice(files["large"]["path"], files["slice"]["path"],
                                                   plan.pyshark_slice)
    files["base"] = {"path": base, "how": how, "packets": base_packets, "connections": base_conns}
    large = files["large"]["path"]
    pcapng = large.with_suffix(".pcapng")
    if regen or not pcapng.exists() or pcapng.stat().st_mtime < large.stat().st_mtime:
        _say(f"the large file as pcapng -> {pcapng.name}")
        inputs.pcapng_copy(large, pcapng)
    files["pcapng"] = {"path": pcapng, "packets": files["large"]["packets"]}
    files["many"] = _many_input(plan, data, regen, many_file)
    return files


def _many_input(plan: Plan, data: Path, regen: bool, given: Path | None) -> dict:
    """Issue 13's "real capture of many short connections": lab.server and
    plan.many_connections lab sessions on loopback (tcpdump), made once and cached like the
    replicas; or the capture given with --many-file."""
    if given is not None:
        return {"path": given, "packets": inputs.count_pcap_records(given), "how": f"given: {given.name}"}
    n = plan.many_connections
    path = data / f"many-{n}-seed{MANY_SEED}.pcap"
    meta = path.with_suffix(".meta")
    if regen or not path.exists() or not meta.exists():
        _say(f"loopback capture of {n:,} lab connections -> {path.name}")
        capture_base.loopback_capture(path, connections=n, seed=MANY_SEED)
        meta.write_text(str(inputs.count_pcap_records(path)))
    return {"path": path, "packets": int(meta.read_text()),
            "how": f"tcpdump -i lo around lab.server, {n:,} short lab sessions (seed {MANY_SEED})"}


def measure(plan: Plan, files: dict, out: Path) -> list[Measurement]:
    """Round-robin over the measurements, `runs` times (slow peers `slow_runs` times)."""
    large, small, sliced = files["large"]["path"], files["small"]["path"], files["slice"]["path"]
    pcapng, many = files["pcapng"]["path"], files["many"]["path"]
    jobs = [  # (tool, file key, how to run one, runs, note)
        ("ours", "large", lambda: peers.run_python_peer("ours", large), plan.runs, ""),
        ("ours, per-frame pipeline (reference)", "large",
         lambda: peers.run_python_peer("ours-per-frame", large), plan.slow_runs,
         "the pure-Python engine the columnar one is tested against"),
        (TSHARK2_TOOL, "large",
         lambda: peers.run_tshark(large, True, out / "tshark2-large.tsv"), plan.runs, ""),
        ("tshark (one-pass field dump)", "large",
         lambda: peers.run_tshark(large, False, out / "tshark1-large.tsv"), plan.runs, ""),
        ("dpkt + minimal labeller", "large", lambda: peers.run_python_peer("dpkt", large), plan.runs, ""),
        ("scapy PcapReader", "large", lambda: peers.run_python_peer("scapy", large, plan.scapy_limit),
         plan.runs, f"first {plan.scapy_limit:,} packets"),
        ("pyshark", "slice", lambda: peers.run_python_peer("pyshark", sliced), plan.slow_runs,
         f"{plan.pyshark_slice:,}-packet slice"),
        ("pyshark use_json", "slice", lambda: peers.run_python_peer("pyshark-json", sliced),
         plan.slow_runs, f"{plan.pyshark_slice:,}-packet slice"),
        ("bare record loop (headroom)", "large", lambda: peers.run_python_peer("record-loop", large),
         plan.runs, "mmap + struct, flags byte only; its RSS is the mapped file"),
        ("ours", "small", lambda: peers.run_python_peer("ours", small), plan.runs, "memory flatness"),
        ("ours", "pcapng", lambda: peers.run_python_peer("ours", pcapng), plan.runs,
         "the large file as pcapng (editcap -F pcapng)"),
        (SUMMARY_TOOL, "large", lambda: peers.run_python_peer("ours-summary", large), plan.runs,
         "python -m analysis FILE --summary --json (cli.main, stdout kept in memory)"),
        (ANALYZE_TOOL, "large", lambda: peers.run_python_peer("ours-analyze", large), plan.runs,
         "what users call: analyze(), then every frame iterated (not kept)"),
        (ANALYZE_TOOL, "small", lambda: peers.run_python_peer("ours-analyze", small), plan.runs, ""),
        (REPORT_TOOL, "small", lambda: peers.run_python_peer("ours-report", small), plan.slow_runs,
         "python -m analysis FILE --out DIR: every report file"),
        (ANALYZE_TOOL, "many", lambda: peers.run_python_peer("ours-analyze", many), plan.runs,
         "a real capture of many short connections"),
        (TSHARK2_TOOL, "many", lambda: peers.run_tshark(many, True, out / "tshark2-many.tsv"),
         plan.runs, ""),
        (REPORT_TOOL, "many", lambda: peers.run_python_peer("ours-report", many), plan.runs,
         "python -m analysis FILE --out DIR: every report file"),
    ]
    # numba compiles (or loads) our kernels on first use and caches them on disk: do that once
    # before timing, so no timed run pays for a compile
    _say("warm-up: our engine on the small file (numba kernel cache)")
    peers.run_python_peer("ours", small)
    results: dict[int, list[peers.Run]] = {i: [] for i in range(len(jobs))}
    for round_ in range(max(plan.runs, plan.slow_runs)):
        for i, (tool, key, run, runs, _) in enumerate(jobs):
            if round_ >= runs:
                continue
            _say(f"run {round_ + 1}/{runs}: {tool} on the {key} file")
            r = run()
            _say(f"  {r.packets:,} packets in {r.seconds:.2f} s = {r.packets / r.seconds:,.0f}/s, "
                 f"peak RSS {r.max_rss_mb:.0f} MB")
            results[i].append(r)
    out_list = []
    for i, (tool, key, _, _, note) in enumerate(jobs):
        rs = results[i]
        cpu = tuple(r.extra["cpu_seconds"] for r in rs) if all("cpu_seconds" in r.extra for r in rs) else ()
        out_list.append(Measurement(tool, key, rs[0].packets, tuple(r.seconds for r in rs),
                                    max(r.max_rss_mb for r in rs), note, cpu))
    return out_list


def agreement(files: dict, out: Path) -> dict:
    """Ours vs tshark on every frame of both benchmark files and of the many-connections
    capture (the timed tshark runs' dumps are reused where there are some)."""
    found = {}
    for key in ("small", "large", "many"):
        path = files[key]["path"]
        one, two = out / f"tshark1-{key}.tsv", out / f"tshark2-{key}.tsv"
        if key == "small":
            peers.run_tshark(path, False, one)
            peers.run_tshark(path, True, two)
        elif key == "many":          # only tshark -2 is timed on it
            peers.run_tshark(path, False, one)
        _say(f"agreement with tshark on the {key} file")
        found[key] = compare(path, one, two)
        a = found[key]
        _say(f"  {a.frames:,} frames, {a.disagreeing_frames} disagree (one-pass), "
             f"{a.two_pass_frames} differ from tshark -2 in analysis flags")
    return found


def profile(path: Path, out: Path) -> Path:
    """pyinstrument over our full analysis of `path` (repeated for at least 1 s); the text tree
    goes to out/profile.txt."""
    from pyinstrument import Profiler

    from analysis.columnar.engine import Scan

    for _ in Scan(path).batches():   # compile (or load) the kernels first: not part of the profile
        pass
    profiler = Profiler(interval=0.001)
    profiler.start()
    # the engine reads the small file in a fraction of a second: scan it again until a second of
    # samples has been taken, so the proportions (and a tiny --quick file's tree) mean something
    t0 = time.perf_counter()
    while True:
        for _ in Scan(path).batches():
            pass
        if time.perf_counter() - t0 >= 1.0:
            break
    profiler.stop()
    target = out / "profile.txt"
    target.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    (out / "profile.html").write_text(profiler.output_html())
    return target


def render(saved: Path, results_dir: Path) -> int:
    data = json.loads(saved.read_text())
    results_dir.mkdir(parents=True, exist_ok=True)
    ms = [Measurement(**{**m, "runs": tuple(m["runs"]), "cpu_runs": tuple(m.get("cpu_runs", ()))})
          for m in data["measurements"]]
    agreed = {k: Agreement(**{**a, "examples": tuple(a["examples"])}) for k, a in data["agreement"].items()}
    md = report.write_markdown(results_dir / "results.md", data["files"], ms, agreed, data["machine"],
                               data["elapsed"], quick=data["quick"], profile=data.get("profile"))
    report.write_chart(results_dir / "results.png", ms)
    _say(f"wrote {md} and {results_dir / 'results.png'} from {saved}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analyzer", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny files, one run each (for tests)")
    parser.add_argument("--packets", type=int, default=None, help="large file size (env BENCH_PACKETS)")
    parser.add_argument("--small", type=int, default=None, help="small file size (default packets/10)")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement (env BENCH_RUNS, 3)")
    parser.add_argument("--data", type=Path, default=inputs.DATA, help="where the inputs go (bench/data)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results.md/png go (default bench/analyzer/, or bench/out/quick with --quick)")
    parser.add_argument("--base", choices=("auto", "capture", "loopback"),
                        default=os.environ.get("BENCH_BASE", "auto"),
                        help="base capture: python -m capture if ready (auto), or tcpdump on loopback")
    parser.add_argument("--scenarios", default=os.environ.get("BENCH_SCENARIOS", ",".join(capture_base.LAB_SCENARIOS)),
                        help="capture scenarios concatenated into the base (comma-separated)")
    parser.add_argument("--base-file", type=Path, default=None,
                        help="use this classic pcap as the base capture instead of making one")
    parser.add_argument("--many", type=int, default=None,
                        help="lab connections in the many-connections capture (18000; --quick 300)")
    parser.add_argument("--many-file", type=Path, default=None,
                        help="use this classic pcap as the many-connections capture instead of making one")
    parser.add_argument("--regen", action="store_true", help="make the inputs again")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="profile ours on the small file with pyinstrument (default: on, off with --quick)")
    parser.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                        help="only write results.md/png again from a saved bench/out/results.json")
    args = parser.parse_args(argv)
    if args.render is not None:
        return render(args.render, args.out or HERE)
    plan = _plan(args)
    results_dir = args.out or (OUT / "quick" if args.quick else HERE)
    work = (args.out or OUT) if args.quick else OUT
    results_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    machine = report.machine_info()
    files = make_inputs(plan, args.data, args.base, tuple(args.scenarios.split(",")), args.regen,
                        args.base_file, args.many_file)
    measurements = measure(plan, files, work)
    agreed = agreement(files, work)
    machine["load_after"] = report.loadavg()
    profile_text = None
    if args.profile if args.profile is not None else not args.quick:
        target = profile(files["small"]["path"], work)
        profile_text = target.read_text()
        _say(f"profile -> {target}")
    elapsed = time.monotonic() - t0
    # everything the report needs, so `--render` can redo results.md/png without measuring again
    (work / "results.json").write_text(json.dumps({
        "files": files, "measurements": [asdict(m) for m in measurements],
        "agreement": {k: asdict(a) for k, a in agreed.items()}, "machine": machine,
        "elapsed": elapsed, "quick": args.quick, "profile": profile_text}, default=str, indent=1))
    md = report.write_markdown(results_dir / "results.md", files, measurements, agreed, machine,
                               elapsed, quick=args.quick, profile=profile_text)
    report.write_chart(results_dir / "results.png", measurements)
    _say(f"wrote {md} and {results_dir / 'results.png'} in {time.monotonic() - t0:.0f} s")
    print(md.read_text())
    for tsv in work.glob("tshark*.tsv"):   # large, and only needed for the agreement above
        tsv.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
