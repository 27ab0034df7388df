"""tshark as the oracle for the dissection and the display filters.

    pdml = pdml_frames("trace.pcap", cache)      # [{(name, pos): [(size, value, show), ...]}] per frame
    tshark_select("trace.pcap", ["tcp", "arp"])  # {filter: [frame numbers]}, ONE tshark run
    tshark_select_y("trace.pcap", "tcp")         # [frame numbers] from `tshark -Y`

tshark starts in about a second on this machine, so running `-Y` once per filter and capture
would take minutes: `tshark_select` registers every filter as a tap listener of a Lua script
(`Listener.new("frame", filter)`: the tap sees the frames its display filter selects, with the
same filter engine and the same single pass as -Y) and writes each one's frame numbers.  A test
checks that it selects what `-Y` selects (test_display_filters.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

TSHARK = shutil.which("tshark")
_ENV = {**os.environ, "LC_ALL": "C"}

_LUA = r"""
local order, hits, taps = {}, {}, {}
for line in io.lines(os.getenv("REQRESP_FILTERS")) do
  local i = #order + 1
  order[i], hits[i] = line, {}
  local tap = Listener.new("frame", line)
  function tap.packet(pinfo) local t = hits[i]; t[#t + 1] = pinfo.number end
  taps[i] = tap
end
local function dump()
  local f = assert(io.open(os.getenv("REQRESP_OUT"), "w"))
  for i = 1, #order do f:write(table.concat(hits[i], " "), "\n") end
  f:close()
end
for i, tap in ipairs(taps) do function tap.draw() dump() end end
if #taps == 0 then dump() end
"""


def pdml_path(pcap: str | os.PathLike, cache: Path) -> Path:
    """`tshark -T pdml` of `pcap`, written once into `cache` (it takes seconds per capture)."""
    out = Path(cache) / (Path(pcap).name + ".pdml")
    if not out.exists():
        done = subprocess.run([TSHARK, "-n", "-r", str(pcap), "-T", "pdml"], capture_output=True,
                              env=_ENV, timeout=300)
        if not done.stdout.strip().endswith(b"</pdml>"):
            raise RuntimeError(f"tshark -T pdml failed on {pcap}: {done.stderr.decode()[:300]}")
        out.with_suffix(".tmp").write_bytes(done.stdout)
        out.with_suffix(".tmp").rename(out)
    return out


def pdml_frames(pcap: str | os.PathLike, cache: Path) -> list[dict]:
    """Per frame (index = number - 1): (field name, pos) -> [(size, value, show)] of every field
    of tshark's PDML, nested ones included."""
    frames = []
    for packet in ET.parse(pdml_path(pcap, cache)).getroot().iter("packet"):
        fields: dict = {}
        for field in packet.iter("field"):
            key = (field.get("name"), int(field.get("pos") or 0))
            fields.setdefault(key, []).append(
                (int(field.get("size") or 0), field.get("value"), field.get("show")))
        frames.append(fields)
    return frames


def tshark_select(pcap: str | os.PathLike, filters: list[str]) -> dict[str, list[int]]:
    """The frames each display filter selects in tshark, from one run (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="reqresp-filters-") as tmp:
        script, listed, out = Path(tmp, "select.lua"), Path(tmp, "filters"), Path(tmp, "out")
        script.write_text(_LUA)
        listed.write_text("".join(f + "\n" for f in filters))
        done = subprocess.run([TSHARK, "-n", "-q", "-r", str(pcap), "-X", f"lua_script:{script}"],
                              capture_output=True, text=True, timeout=300,
                              env={**_ENV, "REQRESP_FILTERS": str(listed), "REQRESP_OUT": str(out)})
        lines = out.read_text().split("\n")[:-1] if out.exists() else []
        if done.returncode != 0 or len(lines) != len(filters):
            raise RuntimeError(f"tshark could not apply the filters to {pcap}: {done.stderr.strip()[:500]}")
    return {f: [int(n) for n in line.split()] for f, line in zip(filters, lines)}


def tshark_select_y(pcap: str | os.PathLike, display_filter: str) -> list[int]:
    """`tshark -r pcap -Y filter`'s frame numbers (RuntimeError if tshark rejects the filter)."""
    done = subprocess.run([TSHARK, "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields",
                           "-e", "frame.number"], capture_output=True, text=True, timeout=120, env=_ENV)
    if done.returncode != 0:
        raise RuntimeError(f"tshark rejected {display_filter!r}: {done.stderr.strip()[:300]}")
    return [int(line) for line in done.stdout.split()]
