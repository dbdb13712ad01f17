"""What a sync prints: its line (:class:`SyncResult`), and that Terraform's state does not see
the synced code (:data:`AWS_WARNING` on AWS, :data:`LOCAL_NOTE` on the local emulator)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tooling.build.lambda_zip import BuildResult
from tooling.sync.functions import DeployedFunction

__all__ = ["AWS_WARNING", "LOCAL_NOTE", "SyncResult"]

AWS_WARNING: Final = """\
WARNING (--target aws): {functions} now run code that Terraform did not deploy.
  The Terraform state still records the zip of the last `./tap deploy --target aws`, and the AWS
  provider does not read a function's code back: `./tap plan` and `./tap drift` do not see this.
  The next `./tap deploy --target aws` updates these functions in place with dist/ (this code)
  and the state matches again. If you revert your change instead, the plan shows no change while
  the functions keep the synced code: run `./tap sync --target aws` again to put dist/ back."""

LOCAL_NOTE: Final = (
    "note: the Terraform state still records the deployed zip; the next `./tap deploy` updates "
    "these functions in place with dist/ (this code) and the state matches again."
)


@dataclass(frozen=True)
class SyncResult:
    """One service synced: the zip, the functions updated and those already running it."""

    service: str
    build: BuildResult
    updated: tuple[DeployedFunction, ...]
    unchanged: tuple[DeployedFunction, ...]
    seconds: float

    def line(self, *, show_regions: bool = False) -> str:
        """``synced api_handler -> a, b in 0.6 s``, or that every function already runs it."""

        def names(functions: Sequence[DeployedFunction]) -> str:
            if show_regions:
                return ", ".join(f"{fn.name} ({fn.region})" for fn in functions)
            return ", ".join(fn.name for fn in functions)

        if self.updated:
            return f"synced {self.service} -> {names(self.updated)} in {self.seconds:.1f} s"
        verb = "runs" if len(self.unchanged) == 1 else "run"
        return (
            f"{self.service}: up to date ({names(self.unchanged)} already {verb} "
            f"{self.build.zip_path.name})"
        )
