"""`python -m compare.conformance`: op_db in every mode (see `run.py`)."""
import sys

from .run import main

sys.exit(main())
