"""The course's `python server.py`: the lab server with its defaults (0.0.0.0:2222, votes in ./votes.db).

Run inside the server container: docker compose -f compose/reqresp.yml exec reqresp-server python server.py
Any option of `python -m lab.server` may follow (e.g. --store memory).
"""
import sys

from lab.server import main

if __name__ == "__main__":
    sys.exit(main())
