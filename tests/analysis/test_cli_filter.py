"""`python -m analysis FILE -Y FILTER` and `--json --fields` (issue 15 item 2)."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analysis.support.wireshark_oracle import tshark_select_y

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "notebooks" / "data" / "reqresp.pcap"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")
@pytest.mark.parametrize("text", ['tcp.payload contains "VOTE"', "tcp.flags.fin == 1 || arp"])
def test_dash_y_lists_the_frames_tshark_selects(text):
    done = run_cli(str(DEFAULT), "-Y", text, "--csv")
    assert done.returncode == 0, done.stderr
    numbers = [int(row["number"]) for row in csv.DictReader(io.StringIO(done.stdout))]
    assert numbers and numbers == tshark_select_y(DEFAULT, text)


def test_dash_y_takes_our_phase_and_label_names():
    done = run_cli(str(DEFAULT), "--filter", 'phase == "teardown" && label == "fin"', "--csv")
    assert done.returncode == 0, done.stderr
    assert [int(r["number"]) for r in csv.DictReader(io.StringIO(done.stdout))] == [22, 23]


def test_a_filter_we_cannot_parse_is_one_line_and_exit_2():
    done = run_cli(str(DEFAULT), "-Y", "tcp.port == 80 &&")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("error: display filter 'tcp.port == 80 &&' at column 18: expected '!' "
                           "or '(' or a field name, got the end\n")


def test_json_fields_gives_each_frame_its_bytes_and_field_tree():
    done = run_cli(str(DEFAULT), "--json", "--fields", "-Y", "tcp.flags.syn == 1")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema_version"] == 4 and [f["number"] for f in doc["frames"]] == [3, 4]
    syn = doc["frames"][0]
    data = bytes.fromhex(syn["bytes"])
    assert [layer["name"] for layer in syn["fields"]] == ["frame", "eth", "ip", "tcp"]
    tcp = {f["name"]: f for f in syn["fields"][3]["children"]}
    seq = tcp["tcp.seq_raw"]
    assert (seq["pos"], seq["size"]) == (38, 4)
    assert int.from_bytes(data[38:42], "big") == int(seq["show"])
    options = {f["name"] for f in tcp["tcp.options"]["children"]}
    assert {"tcp.options.mss", "tcp.options.sack_perm", "tcp.options.wscale"} <= options


def test_fields_without_json_is_refused():
    done = run_cli(str(DEFAULT), "--fields")
    assert done.returncode == 2
    assert "--fields adds the field tree to the JSON document: use it with --json" in done.stderr
