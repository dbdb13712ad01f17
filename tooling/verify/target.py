"""What a verify run talks to, as the deploy's flat outputs name it: the API's base URL for the
target, the trades table, and the data bucket, processor and dead-letter queue that
``./tap upload`` uses (:class:`tooling.upload.Deployment`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tooling.upload.deployment import Deployment
from tooling.upload.errors import UploadError
from tooling.verify.errors import VerifyError

__all__ = ["API_URL_OUTPUTS", "VerifyTarget"]

#: The output holding the API's stage URL, by target: the emulator's URL of the stage
#: (``api_local_url``, written by a local deploy) or the stage's invoke URL on AWS.
API_URL_OUTPUTS: Final = {"local": "api_local_url", "aws": "api_endpoint_url"}
#: Written by a local deploy only: outputs that have it describe the emulator, not AWS.
_LOCAL_MARK: Final = "emulator_endpoint"


@dataclass(frozen=True)
class VerifyTarget:
    """The deployed pieces a verify run uses, from the outputs of one environment (or region);
    ``name`` is how the report names it: ``dev``, or ``global (us-east-2)`` for a region."""

    name: str
    target: str
    api_url: str
    trades_table: str
    deployment: Deployment

    @property
    def region(self) -> str:
        return self.deployment.region

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], prefix: str, target: str) -> VerifyTarget:
        """``<prefix>_<output>`` of the flat outputs; ``prefix`` is ``<environment>`` or
        ``<environment>_<region key>``. Refuses outputs of the other target: a local deploy's
        (which has ``emulator_endpoint``) for ``aws``, where its names are not AWS's."""
        environment, _, region = prefix.partition("_")
        if target not in API_URL_OUTPUTS:
            raise VerifyError(f"--target must be one of {sorted(API_URL_OUTPUTS)}: {target!r}.", 2)
        if target == "aws" and outputs.get(f"{prefix}_{_LOCAL_MARK}"):
            raise VerifyError(
                f"the outputs of {environment} are of a local deployment (they have "
                f"{prefix}_{_LOCAL_MARK}): deploy it to AWS first "
                f"(`./tap deploy --env {environment} --target aws`).",
                2,
            )
        try:
            deployment = Deployment.from_outputs(outputs, prefix)
        except UploadError as error:
            raise VerifyError(str(error), 2) from None
        names = (API_URL_OUTPUTS[target], "trades_table_name")
        missing = [f"{prefix}_{name}" for name in names if not outputs.get(f"{prefix}_{name}")]
        if missing:
            flag = "" if target == "local" else f" --target {target}"
            raise VerifyError(
                f"cfn-outputs/flat-outputs.json has no {', '.join(missing)}: deploy it first "
                f"(`./tap deploy --env {environment}{flag}`).",
                2,
            )
        return cls(
            name=f"{environment} ({region.replace('_', '-')})" if region else environment,
            target=target,
            api_url=str(outputs[f"{prefix}_{API_URL_OUTPUTS[target]}"]).rstrip("/"),
            trades_table=str(outputs[f"{prefix}_trades_table_name"]),
            deployment=deployment,
        )
