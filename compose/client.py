"""The course's `python client.py`: the interactive lab client, talking to reqresp-server:2222.

Run inside the client container: docker compose -f compose/reqresp.yml exec reqresp-client python client.py
It prompts `Enter message:`; `bye` ends the session. Any option of `python -m lab.client` may follow.
"""
import sys

from lab.client import main

if __name__ == "__main__":
    sys.exit(main())
