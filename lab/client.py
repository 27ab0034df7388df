"""`python -m lab.client`: the course's client, interactive or scripted.

Interactive (messages typed, or piped in on stdin): prompts `Enter message: ` then
`Enter another message: `, prints `Received from server: <reply>`; `bye` is sent, its reply
printed, and then the client closes the connection (so the client sends the first FIN).
Scripted: -m/--message, --vote and --script, in the order given on the command line.
"""
from __future__ import annotations

import argparse
import sys
import time

from lab.errors import LabError, ScriptError
from lab.session import ClientConfig, Session


class _Step(argparse.Action):
    """Collects -m/--vote/--script into one list, keeping their order on the command line."""

    def __call__(self, parser, namespace, value, option_string=None):  # type: ignore[override]
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.const, value))
        namespace.steps = steps


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab.client", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="reqresp-server", help="server name or address (default reqresp-server)")
    p.add_argument("--port", type=int, default=2222, help="server port (default 2222)")
    p.add_argument("-m", "--message", action=_Step, const="message", dest="steps", metavar="TEXT",
                   help="send TEXT (repeatable)")
    p.add_argument("--vote", action=_Step, const="vote", dest="steps", metavar="OPTION",
                   help="vote for OPTION with an idempotency id, retried on timeout (repeatable)")
    p.add_argument("--script", action=_Step, const="script", dest="steps", metavar="FILE",
                   help="send each line of FILE as a message (repeatable)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait between messages")
    p.add_argument("--retries", type=int, default=5,
                   help="extra attempts, with backoff, to connect and to resend a vote (default 5)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply (default 5)")
    return p


def _expand(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Scripts become messages; a message may not hold a line break (it would be two messages)."""
    out: list[tuple[str, str]] = []
    for kind, value in steps:
        if kind == "script":
            try:
                with open(value, encoding="utf-8") as f:
                    out.extend(("message", line.rstrip("\r\n")) for line in f if line.strip("\r\n"))
            except (OSError, UnicodeDecodeError) as exc:
                raise ScriptError(value, getattr(exc, "strerror", None) or str(exc)) from None
        elif "\n" in value or "\r" in value:
            raise ScriptError("<command line>", f"message {value!r} holds a line break; "
                              "pass each line as its own -m")
        else:
            out.append((kind, value))
    return out


def _scripted(session: Session, steps: list[tuple[str, str]], delay: float) -> None:
    session.connect()
    for i, (kind, value) in enumerate(steps):
        if i and delay > 0:
            time.sleep(delay)
        reply = session.vote(value) if kind == "vote" else session.ask_again_if_dropped(value)
        print(f"Received from server: {reply}", flush=True)
    session.close()


def _interactive(session: Session) -> int:
    session.connect()
    prompt = "Enter message: "
    while True:
        try:
            message = input(prompt)
        except EOFError:
            break
        except KeyboardInterrupt:
            print()
            session.close()
            return 130
        reply = session.ask(message) if _is_plain_vote(message) else session.ask_again_if_dropped(message)
        print(f"Received from server: {reply}", flush=True)
        if message.strip() == "bye":
            break
        print()
        prompt = "Enter another message: "
    session.close()
    return 0


def _is_plain_vote(message: str) -> bool:
    """A vote without an id must not be resent: the server could count it twice."""
    words = message.split()
    return bool(words) and words[0].upper() == "VOTE" and not any(w.lower().startswith("id=") for w in words)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.retries < 0 or args.timeout <= 0 or args.delay < 0:
        print("lab.client: error: --retries and --delay must not be negative, --timeout must be positive",
              file=sys.stderr)
        return 2
    config = ClientConfig(host=args.host, port=args.port, retries=args.retries, timeout=args.timeout)
    session = Session(config)
    try:
        if args.steps:
            _scripted(session, _expand(args.steps), args.delay)
            return 0
        return _interactive(session)
    except LabError as exc:
        print(f"lab.client: error: {exc}", file=sys.stderr)
        return 1
    finally:
        session.close()


if __name__ == "__main__":
    sys.exit(main())
