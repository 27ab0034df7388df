"""The names contract: lab- prefix, at most 15 characters, a safe alphabet; output file names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from capture.errors import InvalidNameError
from capture.names import check_kernel_name, check_output_path, is_lab_name


@pytest.mark.parametrize("name", ["lab-br0", "lab-server", "lab-client2-br", "lab-eth0", "lab-a"])
def test_valid_names_pass(name: str) -> None:
    assert check_kernel_name(name) == name
    assert is_lab_name(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("eth0", "start with 'lab-'"),
        ("docker0", "start with 'lab-'"),
        ("lab-client10-br0", "longer than 15"),
        ("lab-Server", "lowercase"),
        ("lab-a b", "lowercase"),
        ("lab-a;rm", "lowercase"),
        ("lab-../x", "lowercase"),
        ("lab-", "inner '-'"),
        ("lab-x-", "inner '-'"),
        ("", "non-empty"),
    ],
)
def test_invalid_names_say_why(name: str, why: str) -> None:
    with pytest.raises(InvalidNameError) as err:
        check_kernel_name(name, "interface")
    assert why in str(err.value)
    assert repr(name) in str(err.value)
    assert not is_lab_name(name)


def test_error_names_the_kind_of_object() -> None:
    with pytest.raises(InvalidNameError, match="bad namespace name 'netns1'"):
        check_kernel_name("netns1", "namespace")


def test_output_path_is_made_absolute(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert check_output_path("x.pcap") == tmp_path / "x.pcap"


@pytest.mark.parametrize("bad", ["", "a\nb.pcap", "a\0b", "-w.pcap"])
def test_output_path_rejects_unsafe_names(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        check_output_path(bad)


def test_output_path_rejects_directories_and_missing_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidNameError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(InvalidNameError, match="does not exist"):
        check_output_path(os.path.join(tmp_path, "nope", "x.pcap"))


def test_output_path_in_a_folder_we_may_not_enter_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to another user")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    code = ("from capture.names import check_output_path\n"
            "from capture.errors import InvalidNameError\n"
            f"try:\n    check_output_path({str(locked / 'x.pcap')!r})\n"
            "except InvalidNameError as e:\n    print(e)\n")
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert "cannot be reached (Permission denied)" in done.stdout, done.stderr
