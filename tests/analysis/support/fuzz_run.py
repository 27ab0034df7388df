"""Count how both engines fare on many damaged captures (`make fuzz` runs this after the long
property test):

    python -m tests.analysis.support.fuzz_run --mutations 3352 --properties 3000 [--seed 11]

--mutations N: N files, each a capture of the test corpus (the conformance captures, the lab
captures, and each of them rewritten as pcapng by editcap) with a few bytes overwritten, a
length field set to a damaged value, or cut; --properties N: N files drawn by
fuzz_captures.capture_files() (hypothesis, derandomized). For every file both engines run; a
file counts as a crash of an engine when it raised anything but an AnalysisError, and as a
disagreement when both finished but said different things. Prints one table; exit status 1 if
any file crashed or disagreed. Bounded: every file is at most 64 KiB, the count is given.
"""
from __future__ import annotations

import argparse
import collections
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from tests.analysis.columnar.support.corpus import NOTEBOOK_PCAPS, conformance_pcaps
from tests.analysis.support.fuzz_captures import NASTY_U32, capture_files, outcome

ENGINES = ("per-frame", "columnar")


def judge(path: Path, tally: collections.Counter, examples: dict) -> None:
    verdicts = {}
    for engine in ENGINES:
        try:
            verdicts[engine] = outcome(path, engine)
        except Exception as exc:       # noqa: BLE001 - a crash is what is being counted
            verdicts[engine] = None
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{engine} crash: {type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            tally[key] += 1
            examples.setdefault(key, path.read_bytes())
            tally[f"{engine} crashed"] += 1
    a, b = verdicts["per-frame"], verdicts["columnar"]
    if a is not None and b is not None:
        if a == b:
            tally[f"agree: {a[0]}"] += 1
        else:
            tally["disagree"] += 1
            examples.setdefault("disagree", path.read_bytes())
    tally["files"] += 1


def sources(tmp: Path) -> list[bytes]:
    files = [p.read_bytes()[:64 << 10] for p in conformance_pcaps() + NOTEBOOK_PCAPS]
    editcap = shutil.which("editcap")
    if editcap is None:
        raise RuntimeError("editcap (Wireshark, next to tshark) not found: make tools-test installs it")
    for p in conformance_pcaps() + NOTEBOOK_PCAPS:
        if p.suffix == ".pcap":
            out = tmp / (p.stem + ".pcapng")
            subprocess.run([editcap, "-F", "pcapng", str(p), str(out)], check=True,
                           capture_output=True, timeout=60)
            files.append(out.read_bytes()[:64 << 10])
    assert len(files) >= 50, "the conformance set is missing (../shared/conformance)"
    return files


def mutate(rng: random.Random, blob: bytes) -> bytes:
    out = bytearray(blob)
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        how = rng.random()
        if how < 0.5 and out:                                # a byte, near the front more often
            pos = min(int(rng.expovariate(1 / 200)), len(out) - 1)
            out[pos] = rng.getrandbits(8)
        elif how < 0.8 and len(out) >= 4:                    # a 4-byte field, aligned
            pos = rng.randrange(0, len(out) - 3) & ~3
            value = rng.choice(NASTY_U32 + [rng.getrandbits(32)])
            out[pos:pos + 4] = struct.pack(rng.choice("<>") + "I", value)
        elif len(out) >= 8:                                  # a 64-bit timestamp-sized field
            pos = rng.randrange(0, len(out) - 7) & ~3
            out[pos:pos + 8] = rng.getrandbits(64).to_bytes(8, rng.choice(("little", "big")))
    if rng.random() < 0.2:
        out = out[:rng.randrange(len(out) + 1)]
    return bytes(out)


def run_mutations(n: int, seed: int, tmp: Path, tally, examples) -> None:
    rng = random.Random(seed)
    pool = sources(tmp)
    path = tmp / "mutated.cap"
    for i in range(n):
        path.write_bytes(mutate(rng, pool[i % len(pool)]))
        judge(path, tally, examples)


def run_properties(n: int, tmp: Path, tally, examples) -> None:
    from hypothesis import HealthCheck, given, settings

    path = tmp / "drawn.cap"

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(capture_files())
    def each(blob: bytes) -> None:
        path.write_bytes(blob)
        judge(path, tally, examples)

    each()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=3352)
    parser.add_argument("--properties", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", metavar="DIR", help="write one example file per kind of failure here")
    args = parser.parse_args(argv)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="fuzz-run-") as tmp:
        for name, count in (("mutations", args.mutations), ("properties", args.properties)):
            if count <= 0:
                continue
            tally: collections.Counter = collections.Counter()
            examples: dict = {}
            if name == "mutations":
                run_mutations(count, args.seed, Path(tmp), tally, examples)
            else:
                run_properties(count, Path(tmp), tally, examples)
            print(f"{name}: {tally['files']} files")
            for key in sorted(tally):
                if key != "files":
                    print(f"  {key:<70} {tally[key]:>6}")
            bad += sum(v for k, v in tally.items() if "crashed" in k or k == "disagree")
            if args.keep and examples:      # one file per kind of failure, to reproduce it
                keep = Path(args.keep)
                keep.mkdir(parents=True, exist_ok=True)
                for k, (key, blob) in enumerate(examples.items()):
                    (keep / f"{name}-{k}.cap").write_bytes(blob)
                    print(f"  example {keep / f'{name}-{k}.cap'}: {key}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
