"""`python -m analysis FILE ...`: see analysis/cli.py."""
import sys

from .cli import main

sys.exit(main())
