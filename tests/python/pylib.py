"""Shared by the Python package's tests: imports batchmd from the build
tree (BATCHMD_BUILD/python, set by ctest), counts checks like testlib.py,
and finds the repository's examples and potentials."""
import os
import sys

BUILD = os.environ.get("BATCHMD_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("BATCHMD_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
BATCHMD = os.environ.get("BATCHMD") or os.path.join(BUILD, "batchmd")
sys.path.insert(0, os.path.join(BUILD, "python"))
try:
    import batchmd  # noqa: F401  (the package under test)
except ImportError as e:
    print(f"FAIL: cannot import batchmd from {os.path.join(BUILD, 'python')}: {e} "
          "(the Python package is built with python3-dev: scripts/install-deps, then rebuild)")
    sys.exit(1)
sys.path.insert(0, os.path.join(SOURCE, "tests", "cli"))
from testlib import Checks, run  # noqa: E402,F401
