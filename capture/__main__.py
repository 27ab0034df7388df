"""`python -m capture`: see capture.cli."""
import sys

from capture.cli import main

sys.exit(main())
