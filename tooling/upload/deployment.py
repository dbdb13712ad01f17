"""Where a file goes: the data bucket, the processor and its dead-letter queue as the deploy's
flat outputs name them, and the object key ``aws s3 cp`` would write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tooling.upload.errors import UploadError

__all__ = ["INCOMING_PREFIX", "Deployment", "object_key"]

#: The processor is notified for keys under this prefix only (the bucket notification's
#: ``filter_prefix``, ``trading_infra.components.storage.INCOMING_PREFIX``; a test keeps the two
#: equal).
INCOMING_PREFIX: Final = "incoming/"


@dataclass(frozen=True)
class Deployment:
    """What the deploy's flat outputs say about the data bucket and the processor."""

    bucket: str
    function_name: str
    dead_letter_queue_url: str | None
    region: str

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], prefix: str) -> Deployment:
        """``<prefix>_data_bucket_name``, ``<prefix>_processor_function_name``,
        ``<prefix>_processor_dead_letter_queue_url`` and ``<prefix>_aws_region``."""
        names = ("data_bucket_name", "processor_function_name", "aws_region")
        missing = [f"{prefix}_{name}" for name in names if not outputs.get(f"{prefix}_{name}")]
        if missing:
            environment = prefix.split("_", 1)[0]
            raise UploadError(
                f"cfn-outputs/flat-outputs.json has no {', '.join(missing)}: deploy it first "
                f"(`./tap deploy --env {environment}`)."
            )
        queue = outputs.get(f"{prefix}_processor_dead_letter_queue_url")
        return cls(
            bucket=str(outputs[f"{prefix}_data_bucket_name"]),
            function_name=str(outputs[f"{prefix}_processor_function_name"]),
            dead_letter_queue_url=str(queue) if queue else None,
            region=str(outputs[f"{prefix}_aws_region"]),
        )


def object_key(path: Path, key: str | None) -> str:
    """The key ``aws s3 cp FILE s3://bucket/KEY`` writes: ``incoming/<file name>`` by default,
    ``KEY<file name>`` when KEY ends with ``/`` (a folder), else KEY itself."""
    if key is None:
        return f"{INCOMING_PREFIX}{path.name}"
    if not key or key.startswith("/"):
        raise UploadError(f"--key {key!r}: an object key neither empty nor starting with /.", 2)
    return f"{key}{path.name}" if key.endswith("/") else key
