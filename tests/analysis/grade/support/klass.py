"""A synthetic class, made by running the real lab: `python -m capture --scenario NAME --out FILE`
(root, network namespaces), once per lab run, plus variations made from the runs' own files.

`build_class(root, cache)` lays out `root/class/` (folders and files as students hand them in)
and returns the Student records saying what each holds. Lab runs are cached in `cache` (the
session's tmp dir; or, across sessions, the folder named by $GRADE_LAB_CACHE) by run name, so a
session runs each scenario once whatever tests ask for it.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[4]
CONFORMANCE = Path(os.environ.get("REQRESP_CONFORMANCE")
                   or REPO.parent / "shared" / "conformance") / "pcaps"

# (run name, scenario): every lab run the class needs; a run is one student's own capture
RUNS = ([(f"default{i}", "default") for i in range(1, 11)]
        + [("echo1", "echo"), ("echo2", "echo"), ("vote1", "vote"), ("vote2", "vote"),
           ("multi1", "multi"), ("multi2", "multi"), ("legacy1", "legacy"), ("legacy2", "legacy"),
           ("refused1", "refused"), ("reset1", "reset"), ("reset2", "reset"),
           ("lossy1", "lossy"), ("lossy2", "lossy")])


class Student(NamedTuple):
    id: str
    path: Path          # what is handed in (file, or folder)
    run: str | None     # the lab run it comes from (None: not from the lab)
    variant: str        # "as-is", "copy", "cut-before-fin", "byte-edited", "time-edited",
                        # "length-edited", "pcapng", "empty", "non-lab", "copy-truncated",
                        # "two-captures"

    @property
    def capture(self) -> Path:
        """The capture file itself (the first, for a folder)."""
        return self.path if self.path.is_file() else sorted(self.path.glob("*.pcap*"))[0]


def lab_run(name: str, scenario: str, cache: Path) -> Path:
    """The capture of one lab run (made once, then reused from the cache)."""
    out = cache / f"{name}.pcap"
    if out.exists() and out.stat().st_size > 0:
        return out
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{name}.tmp.pcap"
    for _attempt in range(4):
        proc = subprocess.run([sys.executable, "-m", "capture", "--scenario", scenario,
                               "--out", str(partial)], cwd=REPO, capture_output=True, text=True,
                              timeout=300)
        # the lab network is machine-global: another run holding it long is waited out, bounded
        if proc.returncode == 0 or "another capture run" not in proc.stderr:
            break
    if proc.returncode != 0:
        raise RuntimeError(f"python -m capture --scenario {scenario} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-600:]}")
    os.replace(partial, out)
    return out


def lab_runs(cache: Path) -> dict[str, Path]:
    return {name: lab_run(name, scenario, cache) for name, scenario in RUNS}


def _records(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every record of a little-endian microsecond pcap (as tcpdump writes)."""
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "expected a little-endian pcap from tcpdump"
    records, offset = [], 24
    while offset + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, offset + 8)[0]
        records.append((offset, 16 + caplen))
        offset += 16 + caplen
    return records


def edit_payload_byte(src: Path, dst: Path, needle: bytes) -> int:
    """Copy with one byte changed inside the first frame whose bytes contain `needle`
    (the byte after its first character); returns that frame's number."""
    data = bytearray(src.read_bytes())
    for number, (offset, length) in enumerate(_records(bytes(data)), 1):
        at = data.find(needle, offset + 16, offset + length)
        if at >= 0:
            data[at + 1] ^= 0x20          # "Apa" -> "AAa": a different letter, same length
            dst.write_bytes(bytes(data))
            return number
    raise AssertionError(f"{needle!r} not in {src}")


def edit_time_backwards(src: Path, dst: Path, frame: int) -> None:
    """Copy with frame `frame`'s timestamp set one second earlier (the frames after it stay)."""
    data = bytearray(src.read_bytes())
    offset, _ = _records(bytes(data))[frame - 1]
    seconds = struct.unpack_from("<I", data, offset)[0]
    struct.pack_into("<I", data, offset, seconds - 1)
    dst.write_bytes(bytes(data))


def edit_ip_length(src: Path, dst: Path, frame: int, delta: int) -> None:
    """Copy with frame `frame`'s IPv4 total length changed by `delta` (Ethernet, no VLAN)."""
    data = bytearray(src.read_bytes())
    offset, _ = _records(bytes(data))[frame - 1]
    at = offset + 16 + 14 + 2
    struct.pack_into("!H", data, at, struct.unpack_from("!H", data, at)[0] + delta)
    dst.write_bytes(bytes(data))


def frames_of(path: Path) -> int:
    return len(_records(path.read_bytes()))


def build_class(root: Path, cache: Path) -> list[Student]:
    """Lay out root/class/ and return its students (sorted by id)."""
    runs = lab_runs(cache)
    klass = root / "class"
    if klass.exists():
        shutil.rmtree(klass)
    klass.mkdir(parents=True)
    students: list[Student] = []

    def folder(student: str, source: Path, run: str | None, variant: str, name="reqresp.pcap"):
        (klass / student).mkdir()
        shutil.copyfile(source, klass / student / name)
        students.append(Student(student, klass / student, run, variant))

    def file(student: str, source: Path | None, run: str | None, variant: str, suffix=".pcap"):
        target = klass / f"{student}{suffix}"
        if source is None:
            target.write_bytes(b"")
        else:
            shutil.copyfile(source, target)
        students.append(Student(student, target, run, variant))
        return target

    # as handed in: most in a folder of their own (all named reqresp.pcap), some as a file
    for i in range(1, 6):
        folder(f"s{i:02d}", runs[f"default{i}"], f"default{i}", "as-is")
    for n, run in enumerate(("echo1", "echo2", "vote1", "vote2", "multi1", "multi2", "legacy1",
                             "legacy2", "refused1", "reset1", "reset2", "lossy1", "lossy2"), 6):
        if n % 2:
            folder(f"s{n:02d}", runs[run], run, "as-is")
        else:
            file(f"s{n:02d}", runs[run], run, "as-is")
    # variations
    file("s19", runs["default1"], "default1", "copy")                       # s01's capture again
    cut = file("s20", None, "default6", "cut-before-fin")
    total = frames_of(runs["default6"])
    subprocess.run(["editcap", "-r", str(runs["default6"]), str(cut), f"1-{total - 3}"],
                   check=True, capture_output=True)                         # the last 3: FIN, FIN, ACK
    students[-1] = students[-1]._replace(path=cut)
    edited = klass / "s21.pcap"
    edit_payload_byte(runs["default7"], edited, b"Apa kabar?")
    students.append(Student("s21", edited, "default7", "byte-edited"))
    timed = klass / "s22.pcap"
    edit_time_backwards(runs["default8"], timed, 10)
    students.append(Student("s22", timed, "default8", "time-edited"))
    length = klass / "s23.pcap"
    edit_ip_length(runs["default9"], length, 7, +4)     # an ACK: now 4 bytes longer than its frame
    students.append(Student("s23", length, "default9", "length-edited"))
    pcapng = klass / "s24.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(runs["default10"]), str(pcapng)], check=True,
                   capture_output=True)
    students.append(Student("s24", pcapng, "default10", "pcapng"))
    file("s25", None, None, "empty")
    file("s26", CONFORMANCE / "zeek_http_get.pcap", None, "non-lab")
    file("s27", CONFORMANCE / "tcpdump_tcp_handshake_nano.pcap", None, "non-lab")
    truncated = klass / "s28.pcap"
    cut_in_the_last_fin_ack(runs["lossy1"], truncated)
    students.append(Student("s28", truncated, "lossy1", "copy-truncated"))   # s17's, cut
    (klass / "s29").mkdir()
    shutil.copyfile(runs["echo1"], klass / "s29" / "first.pcap")
    shutil.copyfile(runs["vote1"], klass / "s29" / "second.pcap")
    students.append(Student("s29", klass / "s29", None, "two-captures"))
    folder("s30", runs["default2"], "default2", "copy", name="mine.pcap")   # s02's, renamed
    return sorted(students, key=lambda s: s.id)


def cut_in_the_last_fin_ack(src: Path, dst: Path) -> None:
    """A copy of `src` that stops 5 bytes into the record of the ACK that answers the FIN
    acknowledged last (each side's first FIN, as the grader reads them): that FIN is then never
    acknowledged. Cutting the file's last record is not enough on a lossy link, where the capture
    may end with a retransmission after that ACK."""
    from analysis import analyze
    from analysis.model import ACK, FIN

    frames = list(analyze(src).frames)
    first_fin: dict[tuple, object] = {}
    for f in frames:
        if f.tcp_flags & FIN:
            first_fin.setdefault((f.src, f.sport), f)
    acks = []
    for fin in first_fin.values():
        end = (fin.seq_raw + fin.payload_len + 1) & 0xFFFFFFFF
        acks.append(next(f.number for f in frames if f.number > fin.number
                         and (f.src, f.sport) != (fin.src, fin.sport) and f.tcp_flags & ACK
                         and f.ack_raw is not None and (f.ack_raw - end) & 0xFFFFFFFF < 0x80000000))
    assert len(acks) == 2, f"{src}: expected a FIN from each side, found {len(acks)}"
    data = src.read_bytes()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    offset = 24
    for _ in range(max(acks) - 1):                      # to the start of that ACK's record
        offset += 16 + struct.unpack_from(order + "I", data, offset + 8)[0]
    dst.write_bytes(data[:offset + 16 + 5])
