"""`python -m capture` run in Indonesian from the locale (LANG=id_ID.UTF-8, as `LANG=... make
capture` gives it): our lines are Indonesian, the lab server's and client's lines verbatim."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from capture import i18n
from tests.capture.support.netns import assert_no_leftovers, needs_root, run_cli
from tests.support.english import english_left

pytestmark = [needs_root, pytest.mark.root]


def test_a_capture_run_in_indonesian(tmp_path: Path) -> None:
    out = tmp_path / "echo.pcap"
    env = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    done = run_cli("--scenario", "echo", "--out", str(out), env={**env, "LANG": "id_ID.UTF-8"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  Server listening on 0.0.0.0:2222" in lines                 # the course's lines, verbatim
    assert "  Received from server: Echo: Apa kabar?" in lines
    assert lines[-2].startswith(f"ditulis {out}: ") and " paket ter-capture, 0 dibuang oleh kernel, " in lines[-2]
    assert lines[-2].endswith(" detik (echo, netns, 0 segmen retransmisi)")
    assert lines[-1] == f"berikutnya: make analyze {out}"
    assert english_left("\n".join(lines[-2:])) == []
    assert out.stat().st_size > 0
    assert_no_leftovers()
