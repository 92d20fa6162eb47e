"""A campaign file run from Python exactly as the command runs it."""
import os

from . import _core


class CampaignError(RuntimeError):
    """The command's exit status was not 0 (its message is on stderr)."""

    def __init__(self, status, args):
        self.status = status
        what = {1: "the run failed or was stopped", 2: "the campaign or an input is invalid"}.get(status, "failed")
        super().__init__(f"batchmd {' '.join(args)}: exit status {status} ({what})")


class Campaign:
    """`Campaign("c.yaml").run()` is `batchmd run c.yaml`: the same code,
    the same outputs, bit for bit (docs/campaign.md)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def _command(self, args, check):
        status = _core.command(args)
        if check and status != 0:
            raise CampaignError(status, args)
        return status

    def run(self, resume=False, quiet=False, device=None, check=True):
        args = ["run"] + (["--resume"] if resume else []) + (["--quiet"] if quiet else [])
        args += (["--device", device] if device else []) + [self.path]
        return self._command(args, check)

    def validate(self, check=True):
        return self._command(["validate", self.path], check)

    def eval(self, output=None, check=True):
        return self._command(["eval"] + (["-o", os.fspath(output)] if output else []) + [self.path], check)
