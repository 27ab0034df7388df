"""Progress on long work (issue 13 item 9): the library reports, the command line draws.

The library side is checked in process (both engines, pcap and pcapng, the kernel compile's
events, the files of a batch); the bar itself through a pseudo-terminal (pexpect): it appears on a
terminal for a capture that takes more than 2 s (made by repeating a lab capture with the
benchmark's replicate()), in English and Indonesian, and never when stderr is a pipe, nor for work
that ends sooner."""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest

from analysis import analyze, i18n
from analysis.cli_progress import DELAY_VARIABLE, ProgressBar
from analysis.columnar.engine import Scan
from analysis.grade.batch_table import batch
from analysis.progress import EVERY_FRAMES, Progress, compile_progress
from bench.analyzer.inputs import replicate
from tests.analysis.support.pcapfiles import pcapng_block, pcapng_epb, pcapng_idb, pcapng_shb

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "notebooks" / "data" / "reqresp.pcap"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """The lab capture repeated to 120k frames (11 MB): several seconds for the per-frame engine."""
    return replicate(SHIPPED, tmp_path_factory.mktemp("progress") / "big.pcap", 120_000).path


def on_tty(command: str, **env: str) -> tuple[int, str]:
    """Run `command` (bash) with a pseudo-terminal as its terminal; (status, what it wrote there)."""
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES and k != DELAY_VARIABLE}
    child = pexpect.spawn("bash", ["-c", command], cwd=str(ROOT), env={**clean, **env},
                          encoding="utf-8", timeout=600, dimensions=(30, 200))
    text = child.read()
    child.close()
    return child.exitstatus, text


def shown(text: str) -> str:
    """What a terminal showed, escape sequences removed, each redraw on its own line."""
    return _ANSI.sub("", text).replace("\r", "\n")


PY = f"{sys.executable} -m analysis"


# --- the library's reports -------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["analyze", "reference"])
def test_analyze_reports_frames_and_bytes_as_it_reads(big, engine) -> None:
    """analyze() (the columnar engine) reports after each chunk it reads, the per-frame reference
    every EVERY_FRAMES frames; both end with one finished report of the whole file."""
    from analysis.columnar.engine import CHUNK_FRAMES
    from analysis.reference import analyze_reference

    reports: list[Progress] = []
    result = (analyze if engine == "analyze" else analyze_reference)(big, progress=reports.append)
    step = CHUNK_FRAMES if engine == "analyze" else EVERY_FRAMES
    assert [r.frames for r in reports[:-1]] == [min(n, result.frame_count)
                                                for n in range(step, result.frame_count + step, step)
                                                ][:len(reports) - 1]
    assert len(reports) - 1 in (result.frame_count // step, -(-result.frame_count // step))
    assert all(r.task == "read" and r.bytes_total == big.stat().st_size for r in reports)
    done = [r.bytes_done for r in reports]
    assert done == sorted(done) and 0 < done[0] < done[-1]
    assert reports[-1] == Progress("read", frames=result.frame_count, bytes_done=big.stat().st_size,
                                   bytes_total=big.stat().st_size, finished=True)
    assert [r.finished for r in reports].count(True) == 1


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_the_fast_engine_reports_every_chunk(big, tmp_path, fmt) -> None:
    path = big
    if fmt == "pcapng":      # the fast engine's other reader (pcapng goes through CaptureReader)
        count = analyze(SHIPPED).frame_count
        raw = SHIPPED.read_bytes()[24:]
        records, pos = [], 0
        while pos < len(raw):
            caplen = int.from_bytes(raw[pos + 8:pos + 12], "little")
            records.append(raw[pos + 16:pos + 16 + caplen])
            pos += 16 + caplen
        body = b"".join(pcapng_epb(0, i * 1000, data) for i, data in enumerate(records * 5000))
        path = tmp_path / "many.pcapng"
        path.write_bytes(pcapng_shb() + pcapng_idb(1) + body)
        assert len(records) == count
    reports: list[Progress] = []
    scan = Scan(path, chunk_frames=8192, progress=reports.append)
    summary = scan.summary()
    size = path.stat().st_size
    assert [r.frames for r in reports[:-1]] == [min(8192 * (i + 1), summary.frame_count)
                                                for i in range(len(reports) - 1)]
    done = [r.bytes_done for r in reports]
    assert done == sorted(done) and done[0] < size // 2 and done[-1] == size
    assert reports[-1].finished and reports[-1].frames == summary.frame_count


def test_the_compile_is_reported_kernel_by_kernel() -> None:
    # a package of three kernels, one calling another; numba's compile events count each once
    numba = pytest.importorskip("numba")
    package = types.ModuleType("progress_probe")
    module = types.ModuleType("progress_probe.kernels")

    @numba.njit
    def inner(x):
        return x + 1

    @numba.njit
    def outer(x):
        return inner(x) * 2

    @numba.njit
    def unused(x):
        return x - 1

    module.inner, module.outer, module.unused = inner, outer, unused
    sys.modules.update({"progress_probe": package, "progress_probe.kernels": module})
    try:
        reports: list[Progress] = []
        with compile_progress(reports.append, "progress_probe"):
            assert outer(3) == 8
            assert outer(4) == 10          # compiled already: no event
        assert [(r.items_done, r.items_total, r.finished) for r in reports] == \
            [(0, 3, False), (1, 3, False), (2, 3, False), (3, 3, True)]
        assert {r.task for r in reports} == {"compile"}
    finally:
        for name in ("progress_probe", "progress_probe.kernels"):
            sys.modules.pop(name, None)


def test_a_batch_reports_each_capture_done(tmp_path) -> None:
    for i in range(3):
        shutil.copy(SHIPPED, tmp_path / f"s{i}.pcap")
    reports: list[Progress] = []
    result = batch([str(tmp_path)], tmp_path / "out", workers=1, progress=reports.append)
    size = SHIPPED.stat().st_size
    assert [(r.items_done, r.items_total, r.bytes_done, r.frames) for r in reports] == \
        [(i, 3, i * size, i * 24) for i in range(4)]
    assert reports[-1].finished and len(result.rows) == 3


def test_the_bar_draws_nothing_off_a_terminal_and_nothing_for_quick_work(tmp_path) -> None:
    t = i18n.translation("en")
    with open(tmp_path / "err", "w") as stream:      # a file: not a terminal
        bar = ProgressBar(t, stream, delay=0)
        analyze(SHIPPED, progress=bar)
        bar.close()
    assert (tmp_path / "err").read_text() == ""
    quick = ProgressBar(t, enabled=True)             # a terminal, but the work ends within 2 s
    analyze(SHIPPED, progress=quick)
    assert quick._bar is None and not quick._tasks


# --- the bar, on a pseudo-terminal -----------------------------------------------------------------

def test_a_long_report_shows_the_bar_on_a_terminal(big) -> None:
    # no delay: the read may end within 2 s on a quiet machine (test_a_bar_waits_its_delay_on_a_clock
    # checks the delay); the bar is drawn when it appears, mid-read, so "it moved" holds at any speed
    status, text = on_tty(f"{PY} {big} --csv > /dev/null", **{DELAY_VARIABLE: "0"})
    assert status == 0, text[-2000:]
    screen = shown(text)
    bars = [line for line in screen.splitlines() if line.startswith("analysing ")]
    assert bars, screen[-2000:]
    last = bars[-1]
    assert "120,000 frames" in last and "frames/s" in last and " left " in last, last
    from rich.filesize import decimal

    total = decimal(big.stat().st_size)
    assert f" {total}/{total} " in last, last
    assert any(f"/{total} " in bar and f" {total}/" not in bar for bar in bars)   # it moved
    # the rates drawn are the read's own: frames drawn / seconds since the read began
    rates = [int(m.replace(",", "")) for m in re.findall(r"([\d,]+) frames/s", screen)]
    assert rates and max(rates) < 2_000_000


def test_writing_the_report_files_shows_its_steps_and_frames(big, tmp_path) -> None:
    # make analyze's --out: after the read, the report's own bar (steps, frames written); what
    # goes to stdout still goes there, not into the bar's terminal
    out, printed = tmp_path / "report", tmp_path / "stdout.txt"
    status, text = on_tty(f"{PY} {big} --out {out} > {printed}", **{DELAY_VARIABLE: "0"})
    assert status == 0, text[-2000:]
    bars = [line for line in shown(text).splitlines() if line.startswith("writing the report ")]
    assert bars, shown(text)[-2000:]
    assert any("step 1 of 5" in bar and " frames" in bar for bar in bars), bars[:3]
    # the first step moves the bar as its frames are written, before the step ends
    assert any("step 1 of 5" in bar and re.search(r" ([1-9]\d?)% ", bar) for bar in bars), bars
    assert "120,000 frames" in bars[-1] and " left " in bars[-1], bars[-1]
    steps = [int(m) for bar in bars for m in re.findall(r"step (\d) of 5", bar)]
    assert steps == sorted(steps) and steps[-1] == 5, steps
    assert printed.read_text(encoding="utf-8") == (out / "report.txt").read_text(encoding="utf-8")


def test_the_report_steps_reach_the_hook() -> None:
    seen = []
    result = analyze(SHIPPED)
    from analysis.cli import write_outputs

    with tempfile.TemporaryDirectory() as tmp:
        write_outputs(result, Path(tmp) / "r", progress=seen.append)
    assert {p.task for p in seen} == {"report"}
    done = [p.items_done for p in seen]
    assert done == sorted(done) and sorted(set(done)) == [0, 1, 2, 3, 4, 5]
    assert seen[-1].finished and not any(p.finished for p in seen[:-1])
    assert seen[-1].frames == result.frame_count and seen[-1].items_total == 5


def test_no_bar_when_stderr_is_a_pipe(big) -> None:
    status, text = on_tty(f"{PY} {big} --csv 2>&1 >/dev/null | cat")
    assert status == 0
    assert text == "", text[:500]          # no bar, no escape codes: the pipe got nothing


def test_no_bar_for_a_capture_read_within_two_seconds() -> None:
    status, text = on_tty(f"{PY} {SHIPPED} --csv > /dev/null")
    assert status == 0 and text == "", text[:500]


def test_the_summary_bar_in_indonesian_and_its_speed_without_the_compile(big) -> None:
    # the fast engine reads 120k frames in well under 2 s: the delay set to 0 shows its bar
    status, text = on_tty(f"{PY} {big} --summary --lang id", **{DELAY_VARIABLE: "0"})
    assert status == 0, text[-2000:]
    screen = shown(text)
    bars = [line for line in screen.splitlines() if line.startswith("menganalisis ")]
    assert bars and " sisa " in bars[-1] and "120,000 frame " in bars[-1], screen[-2000:]
    assert "frame/s" in screen and "frames" not in "".join(bars)
    assert re.search(r"dianalisis dalam [\d.]+ s, [\d,]+ frame/s", screen)   # the summary line, in Indonesian too


def test_a_batch_shows_the_captures_done(tmp_path) -> None:
    (tmp_path / "class").mkdir()
    for i in range(4):
        shutil.copy(SHIPPED, tmp_path / "class" / f"s{i}.pcap")
    status, text = on_tty(f"{PY} batch {tmp_path / 'class'} --out {tmp_path / 'out'} --workers 1",
                          **{DELAY_VARIABLE: "0"})
    assert status == 0, text[-2000:]
    screen = shown(text)
    assert re.search(r"analysing the captures .* 4 of 4 captures, 96 frames", screen), screen[-2000:]
    status, text = on_tty(f"{PY} grade {tmp_path / 'class'} --out {tmp_path / 'grades'} --workers 1 "
                          f"--no-reports --lang id", **{DELAY_VARIABLE: "0"})
    assert status == 0, text[-2000:]
    assert re.search(r"menilai capture .* 4 dari 4 capture", shown(text)), shown(text)[-2000:]


@pytest.mark.slow
def test_the_one_time_compile_shows_the_kernels_compiled(tmp_path) -> None:
    # a real compile of every kernel (about a minute on 2 cores): numba's cache in a fresh
    # folder and the warm-up's marker elsewhere, as on a fresh clone; the installed caches stay
    script = tmp_path / "fresh.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nfrom analysis.columnar import warmup\n"
        f"warmup.MARKER = Path({str(tmp_path / 'warmup.done')!r})\n"
        "from analysis import cli\n"
        f"sys.exit(cli.main([{str(SHIPPED)!r}, '--summary']))\n")
    status, text = on_tty(f"{sys.executable} {script}", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    assert status == 0, shown(text)[-2000:]
    screen = shown(text)
    assert screen.lstrip().startswith("compiling the analyzer's kernels first"), screen[:500]
    kernels = [tuple(map(int, m)) for m in re.findall(r"(\d+) of (\d+) kernels", screen)]
    assert kernels and kernels[-1][0] == kernels[-1][1] and kernels[-1][1] > 50, kernels[-5:]
    assert len({done for done, _ in kernels}) > 10        # it moved as kernels were compiled
    # the speed printed after it counts the read only: 24 frames cannot take the compile's minute
    seconds = float(re.search(r"analysed in ([\d.]+) s", screen).group(1))
    assert seconds < 5, screen[-1000:]
    assert any(os.scandir(tmp_path / "numba"))


def test_a_bar_waits_its_delay_on_a_clock(monkeypatch) -> None:
    """Nothing for the first DELAY s of a task, then a bar drawn at once; none for work that ends sooner."""
    import io

    clock = [100.0]
    monkeypatch.setattr("analysis.cli_progress.time.monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = ProgressBar(i18n.translation("en"), out, delay=2.0, enabled=True)
    total = 10_000_000
    for second, frames in ((0.0, 4096), (1.0, 8192), (1.9, 12288)):
        clock[0] = 100.0 + second
        bar(Progress("read", frames=frames, bytes_done=frames * 100, bytes_total=total))
    assert bar._bar is None and out.getvalue() == ""
    clock[0] = 102.5
    bar(Progress("read", frames=16384, bytes_done=1_638_400, bytes_total=total))
    assert "16,384 frames" in shown(out.getvalue())
    bar.close()
    quick = ProgressBar(i18n.translation("en"), io.StringIO(), delay=2.0, enabled=True)
    clock[0] = 200.0
    quick(Progress("read", frames=4096, bytes_done=1, bytes_total=2))
    clock[0] = 203.0
    quick(Progress("read", frames=5000, bytes_done=2, bytes_total=2, finished=True))
    assert quick._bar is None and quick.stream.getvalue() == ""

