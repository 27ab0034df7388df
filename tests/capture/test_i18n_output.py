"""What the capture tool prints, in Indonesian with no English sentence left: the CLI's help, each
error (raised by the code that raises it, where that is cheap without root), the summary of a
CaptureResult and of a lab session, `clean`'s report, the lines of `make lab` that are ours (the
lab server's and client's own lines stay verbatim, as the course sheets show them). Each check is
shown to find the English rendering of the same thing, so it can fail."""
from __future__ import annotations

import argparse
import io
import string
import sys
from pathlib import Path

import pytest

from capture import errors, i18n
from capture.errors import CaptureError
from capture.processes import OutputLine
from capture.result import CaptureResult
from capture.text import N_, Text
from tests.support.english import english_left
from tests.support.messages import code_messages, read_catalog, translations

ROOT = Path(__file__).resolve().parents[2]
ID = i18n.translation("id")
EN = i18n.translation("en")
PO = i18n.LOCALE_DIR / "id" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
# stays as it is in every language: the lab's own messages and commands, the course sheet's
# section names, file and program names (the word check removes code-like words by itself)
KEEP = ["Hello Server", "Apa kabar?", "RESULTS", "bye", "Server listening on 0.0.0.0:2222", "Server listening on",
        "Received from server: Echo: Hello Server", "Enter message:"]


def _all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_all_subclasses(direct)}}


def _raised(make) -> CaptureError:  # type: ignore[no-untyped-def]
    with pytest.raises(CaptureError) as caught:
        make()
    return caught.value


def _errors(tmp_path: Path) -> dict[str, CaptureError]:
    """One error of each kind, raised by the code that raises it (constructed only where reaching
    it needs root, Docker or a dying kernel)."""
    from capture import api, names, nsutil, runner, scenarios, sessions, state, tcpdump, topology
    from capture.compose_project import CommandResult, ComposeProject
    from capture.interactive import join_argv
    from capture.processes import ProcessGroup
    from capture.state import RunState

    failing_docker = ComposeProject(["docker", "compose"], lambda argv: CommandResult(
        1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"))
    group = ProcessGroup(RunState.create(tmp_path), 0.0)
    quiet = group.start("server", [sys.executable, "-c", "print('Server booting')"])

    def lossy_without_loss() -> None:
        empty = CaptureResult("lossy", "netns", tmp_path / "x.pcap", 1, 0, 0.1, (), retransmissions=0)
        sessions.run_attempts(scenarios.get_scenario("lossy"), lambda attempt: empty)

    def locked_twice() -> None:
        with state.lab_lock(tmp_path), state.lab_lock(tmp_path, timeout=0):
            pass

    found = {
        "kernel name": _raised(lambda: names.check_kernel_name("eth0", "interface")),
        "long name": _raised(lambda: names.check_kernel_name("lab-" + "x" * 20, "namespace")),
        "empty pcap": _raised(lambda: names.check_output_path("")),
        "option pcap": _raised(lambda: names.check_output_path("-x.pcap")),
        "folder": _raised(lambda: names.check_output_path(tmp_path / "missing" / "x.pcap")),
        "directory": _raised(lambda: names.check_output_path(tmp_path)),
        "clients": _raised(lambda: topology.lab_topology(topology.MAX_CLIENTS + 1)),
        "pid": _raised(lambda: nsutil.netns_file(0)),
        "not a netns": _raised(lambda: nsutil.netns_file(True)),
        "scenario": _raised(lambda: scenarios.get_scenario("nope")),
        "hold": _raised(lambda: runner.run_netns("default", tmp_path / "x.pcap", hold=-1)),
        "retransmission": _raised(lossy_without_loss),
        "statistics": _raised(lambda: tcpdump.parse_stats("", "lab-br0", "x.pcap")),
        "backend": _raised(lambda: api.run_scenario("default", tmp_path / "x.pcap", backend="x")),
        "lab host": _raised(lambda: join_argv("shell", "router")),
        "language": _raised(lambda: i18n.check_lang("fr")),
        "docker": _raised(failing_docker.engine_answers),
        "image": _raised(failing_docker.ensure_image),
        "not ready": _raised(lambda: quiet.wait_for_line(r"Server listening on", 5.0)),
        "no program": _raised(lambda: group.start("client", [str(tmp_path / "no-such-program")])),
        "lock": _raised(locked_twice),
        "root": errors.NotRootError(65534),
        "tool": errors.MissingToolError("tcpdump", "tcpdump"),
        "teardown": errors.NetworkSetupError([Text(N_("namespace {name}: {error}"), name="lab-wire",
                                                   error="Device or resource busy")], *errors.STILL_PRESENT),
        "server exit": errors.LabProcessError("server", errors.ROOT_NAMESPACE, errors.exited_on_sigterm(1),
                                              "Server listening on 0.0.0.0:2222"),
        "unexpected": errors.UnexpectedError(Text(N_("capture run {name!r} ({backend})"), name="default",
                                                  backend="netns"), OSError(5, "Input/output error")),
        "interrupted": errors.Interrupted("SIGINT"),
    }
    group.stop_all()
    return found


def test_every_error_is_one_line_in_both_languages_and_the_indonesian_has_no_english_left(tmp_path: Path) -> None:
    found = _errors(tmp_path)
    kinds = {type(error) for error in found.values()}
    assert _all_subclasses(CaptureError) <= kinds, "an error class without an example here"
    for what, error in found.items():
        english, indonesian = error.one_line(), error.one_line(ID)
        assert english == str(error) == error.one_line(EN), what
        assert "\n" not in english and "\n" not in indonesian, what
        assert english != indonesian, what
        # the kernel's, Docker's and the programs' own words stay as they are
        keep = KEEP + ["Device or resource busy", "Input/output error", "Server booting",
                       "Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
                       "[Errno 2] No such file or directory", "Permission denied"]
        assert english_left(indonesian, keep) == [], f"{what}: {indonesian}"
        assert english_left(english, keep) != [], f"the check would not see {what} left in English"


def _sample(template: str) -> str:
    """A template's fields filled (numbers where the format asks for one), to check its words."""
    values = {field: (1 if spec else "lab-x")
              for _, field, spec, _ in string.Formatter().parse(template) if field is not None}
    return template.format(**values)


def test_no_indonesian_message_of_the_catalog_has_english_left() -> None:
    """Every message capture/ marks (errors and their parts, summaries, CLI lines, help texts)."""
    catalog = read_catalog(PO, "id")
    code = code_messages(ROOT / "capture")
    left = {}
    for msgid in code:
        for translated in translations(catalog[msgid]):
            if words := english_left(_sample(translated), KEEP):
                left[msgid] = (translated, words)
    assert left == {}


def test_the_help_is_indonesian() -> None:
    from capture.cli import build_parser

    with i18n.argparse_language("id"):
        text = build_parser().format_help()
    english = build_parser().format_help()
    assert english_left(text, KEEP) == []
    assert {"usage", "the", "and", "of"} <= {w.lower() for w in english_left(english, KEEP)}


def _result() -> CaptureResult:
    lines = (OutputLine(0.1, "server", "Server listening on 0.0.0.0:2222"),
             OutputLine(0.2, "client", "Received from server: Echo: Hello Server"))
    return CaptureResult("lossy", "netns", Path("/x/reqresp.pcap"), 31, 0, 1.5, lines, attempts=2,
                         retransmissions=3, totals="A=2 B=1 C=0")


def test_the_summary_of_a_capture_result_in_both_languages() -> None:
    result = _result()
    assert result.summary() == result.summary(EN) == (
        "wrote /x/reqresp.pcap: 31 packets captured, 0 dropped by kernel, 1.50 s "
        "(lossy, netns, 2 runs, 3 retransmitted segments, totals A=2 B=1 C=0)")
    assert result.summary(ID) == (
        "ditulis /x/reqresp.pcap: 31 paket ter-capture, 0 dibuang oleh kernel, 1.50 detik "
        "(lossy, netns, 2 kali run, 3 segmen retransmisi, total A=2 B=1 C=0)")
    one = CaptureResult("echo", "netns", Path("x.pcap"), 1, 0, 0.5, ())
    assert one.summary().startswith("wrote x.pcap: 1 packet captured, ")   # the singular, in English only
    assert english_left(result.summary(ID)) == [] and english_left(result.summary()) != []


def test_the_cli_prints_the_transcript_verbatim_and_its_own_lines_in_indonesian() -> None:
    from capture.cli import dropped_line, print_result

    out = io.StringIO()
    print_result(_result(), "reqresp.pcap", out, ID)
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["--- server ---", "  Server listening on 0.0.0.0:2222",   # the course's lines, verbatim
                         "--- client ---", "  Received from server: Echo: Hello Server"]
    assert lines[-1] == "berikutnya: make analyze reqresp.pcap"
    assert english_left(out.getvalue(), KEEP) == []
    assert dropped_line(1, ID) == "kesalahan: kernel membuang 1 paket; capture tidak lengkap, jalankan sekali lagi"
    assert dropped_line(2, EN) == "error: the kernel dropped 2 packets; the capture is incomplete, run it again"
    assert dropped_line(1, EN, again=False) == "error: the kernel dropped 1 packet; the capture is incomplete"


def test_the_clean_report_in_indonesian(capsys: pytest.CaptureFixture[str]) -> None:
    from capture.cli import print_clean_report
    from capture.state import CleanReport

    report = CleanReport(
        killed=(Text(N_("pid {pid} ({role} in {namespace})"), pid=41, role="tcpdump", namespace="lab-wire"),
                Text(N_("pid {pid} ({role} in {namespace})"), pid=42, role="server", namespace=errors.ROOT_NAMESPACE),
                Text(N_("pid {pid} (in {namespace})"), pid=43, namespace="lab-client")),
        namespaces=("lab-client", "lab-wire"), links=(), compose=("reqresp-server",),
        problems=(Text(N_("namespace {name}: {error}"), name="lab-wire", error="Device or resource busy"),))
    out = io.StringIO()
    assert print_clean_report(report, out, ID) == 1
    assert out.getvalue().splitlines() == [
        "dihentikan: pid 41 (tcpdump di lab-wire), pid 42 (server di namespace root), pid 43 (di lab-client)",
        "namespace dihapus: lab-client, lab-wire",
        "objek compose dihapus: reqresp-server"]
    assert capsys.readouterr().err.splitlines() == [
        "kesalahan: tidak dapat menghapus namespace lab-wire: Device or resource busy"]
    english = io.StringIO()
    print_clean_report(report, english, EN)
    assert english.getvalue().splitlines()[0] == (
        "stopped: pid 41 (tcpdump in lab-wire), pid 42 (server in root namespace), pid 43 (in lab-client)")
    empty = io.StringIO()
    print_clean_report(CleanReport((), (), (), ()), empty, ID)
    assert empty.getvalue() == "tidak ada yang perlu dibersihkan: tidak ada namespace, link, atau proses lab-\n"
    assert english_left(out.getvalue() + empty.getvalue(), KEEP + ["Device or resource busy"]) == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_make_lab_speaks_the_chosen_language_and_passes_it_to_the_narrator(
        lang: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The session's own lines (start, warnings, summary, next) in `lang`; the server's lines as
    the server prints them; the narrator (python -m analysis --live) is started with --lang."""
    from capture import interactive
    from capture.cli_lab import run_lab_command
    from capture.interactive import ENDED_BY_CLIENT, LabSessionResult, narrator_argv

    asked: dict[str, object] = {}

    def fake_run_lab(out, *, backend, on_line, lang):  # type: ignore[no-untyped-def]
        asked.update(out=out, backend=backend, lang=lang)
        on_line(OutputLine(0.1, "server", "Server listening on 0.0.0.0:2222"))
        late = Text(N_("the server's connections in {where} did not close within {seconds:g} s"),
                    where=Text(N_("the server's host")), seconds=5.0)
        return LabSessionResult("netns", Path("reqresp.pcap"), 12, 0, 3.25, ENDED_BY_CLIENT, (), (late,))

    monkeypatch.setattr(interactive, "run_lab", fake_run_lab)
    args = argparse.Namespace(command="lab", backend="netns", out="reqresp.pcap", lang=lang)
    out = io.StringIO()
    assert run_lab_command(args, out) == 0
    assert asked == {"out": "reqresp.pcap", "backend": "netns", "lang": lang}
    lines, err = out.getvalue().splitlines(), capsys.readouterr().err
    assert lines[1] == "server | Server listening on 0.0.0.0:2222"
    if lang == "id":
        assert lines[0].startswith("lab (netns): menyalakan jaringan, tcpdump, dan server; ketik pesan Anda")
        assert lines[2] == ("ditulis reqresp.pcap: 12 paket ter-capture, 0 dibuang oleh kernel, 3.25 detik "
                            "(sesi lab, netns, diakhiri oleh client (bye atau Ctrl-D))")
        assert lines[3] == "berikutnya: make analyze reqresp.pcap"
        assert err == "peringatan: koneksi server di host server tidak tertutup dalam 5 detik\n"
        assert english_left(out.getvalue() + err, KEEP) == []
    else:
        assert lines[2] == ("wrote reqresp.pcap: 12 packets captured, 0 dropped by kernel, 3.25 s "
                            "(lab session, netns, ended by the client (bye or Ctrl-D))")
        assert err == "warning: the server's connections in the server's host did not close within 5 s\n"
    argv = narrator_argv({"172.28.0.2": "server"}, lang)
    assert argv[-2:] == ["--lang", lang] and argv[argv.index("-m") + 1] == "analysis"
    assert "--lang" not in narrator_argv({})      # no choice: the analyzer reads the locale itself
