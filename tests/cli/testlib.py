"""Small helpers shared by the command-line tests: locating the batchmd
binary, running it, counting checks and printing the closing line."""
import os
import subprocess
import sys

BATCHMD = os.environ.get("BATCHMD") or os.path.join(os.environ.get("BATCHMD_BUILD", "build"), "batchmd")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def run(*args, cwd=None):
    return subprocess.run([BATCHMD, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
