"""`python -m bench.lab`: see bench/lab/load.py."""
import sys

from bench.lab.load import main

sys.exit(main())
