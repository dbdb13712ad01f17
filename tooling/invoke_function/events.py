"""The event to send: a JSON file's bytes, or a service package's sample filled from the
deployment (and, for the processor's S3 sample, from the object it names)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from processor import samples as processor_samples

from tooling.invoke_function.errors import InvokeError
from tooling.invoke_function.functions import FUNCTIONS, FunctionKind, Target

#: What ``--sample`` with no name, or ``--sample list``, does.
LIST: Final = "list"


def event_from_file(path: Path) -> bytes:
    """The bytes of ``path``, checked to be JSON (what Lambda accepts as a payload)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvokeError(f"--event {path}: {error.strerror or error}.", 2) from None
    try:
        json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvokeError(
            f"--event {path} is not JSON ({error}): Lambda takes JSON only.", 2
        ) from None
    return data


def _no_samples(target: Target) -> InvokeError:
    return InvokeError(
        f"{target.function_name} is not a function of the deployment's outputs: it has no "
        f"samples (name it {', '.join(FUNCTIONS)}, or send --event FILE).",
        2,
    )


def sample_lines(target: Target) -> list[str]:
    """What ``--sample list`` prints: each sample of the function with what it is."""
    if target.kind is None:
        raise _no_samples(target)
    names = target.kind.sample_names()
    width = max(len(name) for name in names)
    return [f"samples of {target.function_name} ({target.kind.handler}):"] + [
        f"  {name:<{width}}  {target.kind.samples[name].summary}" for name in names
    ]


def _deployment_params(
    kind: FunctionKind, outputs: Mapping[str, Any], prefix: str, region: str
) -> dict[str, Any]:
    """What a sample takes from the deployment."""
    params: dict[str, Any] = {"region": region}
    if kind.service == "processor":
        bucket = outputs.get(f"{prefix}_data_bucket_name")
        if bucket:
            params["bucket"] = str(bucket)
        return params
    arn = str(outputs.get(f"{prefix}_{kind.service}_function_arn") or "")
    if arn.count(":") >= 6:
        params["aws_account_id"] = arn.split(":")[4]
    for param, output in (("api_id", "api_id"), ("stage", "api_stage_name")):
        if outputs.get(f"{prefix}_{output}"):
            params[param] = str(outputs[f"{prefix}_{output}"])
    return params


def _object_params(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], str]:
    """The size, ETag and version of ``s3://bucket/key`` for the S3 sample, and a note."""
    from botocore.exceptions import BotoCoreError, ClientError

    uri = f"s3://{bucket}/{key}"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return {}, (
                f"note: {uri} does not exist: the event only names it, and the processor reads "
                f"it (put one there first: ./tap upload FILE --key {key})"
            )
        return {}, f"note: {uri} could not be looked at ({error}); the event only names it"
    except BotoCoreError as error:
        return {}, f"note: {uri} could not be looked at ({error}); the event only names it"
    params: dict[str, Any] = {"size": int(head["ContentLength"]), "etag": str(head["ETag"])}
    version = head.get("VersionId")
    if version and version != "null":
        params["version_id"] = str(version)
    return params, f"note: the event names {uri}; the processor reads the object itself"


def _sample_file_in_place(s3: Any, bucket: str) -> list[str]:
    """Put the processor's sample trade file at its key unless an object is there (under
    ``incoming/``, which the processor's role may read: the bucket's notification processes it
    too, and the second run counts its trades as duplicates)."""
    from botocore.exceptions import ClientError

    key = processor_samples.SAMPLE_TRADE_FILE_KEY
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return []
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
            return []  # _object_params says what is wrong with it
    s3.put_object(Bucket=bucket, Key=key, Body=processor_samples.SAMPLE_TRADE_FILE)
    lines = processor_samples.SAMPLE_TRADE_FILE.count(b"\n") - 1
    return [
        f"note: put the processor's sample trade file ({lines} lines) at s3://{bucket}/{key} "
        "(the bucket's notification processes it too: the second run counts duplicates)"
    ]


def sample_event(
    target: Target,
    name: str,
    outputs: Mapping[str, Any],
    prefix: str,
    *,
    key: str | None = None,
    s3: Any = None,
) -> tuple[dict[str, Any], list[str]]:
    """Sample ``name`` of the target's function filled from the deployment, and notes to print.

    ``key`` is the object of the processor's S3 sample; with ``s3`` (a client) its size, ETag
    and version are read from the bucket when it exists.
    """
    kind = target.kind
    if kind is None:
        raise _no_samples(target)
    if name not in kind.sample_names():
        raise InvokeError(
            f"{target.function_name} has no sample {name!r}; its samples: "
            f"{', '.join(kind.sample_names())} (--sample list describes them).",
            2,
        )
    params = _deployment_params(kind, outputs, prefix, target.region)
    notes: list[str] = []
    if key is not None and (kind.service != "processor" or name != "s3-put"):
        raise InvokeError("--key names the object of the processor's s3-put sample only.", 2)
    if kind.service == "processor":
        params["key"] = key or processor_samples.SAMPLE_TRADE_FILE_KEY
        if s3 is not None and "bucket" in params:
            if key is None:
                notes.extend(_sample_file_in_place(s3, params["bucket"]))
            found, note = _object_params(s3, params["bucket"], params["key"])
            params |= found
            notes.append(note)
    try:
        return kind.build(name, **params), notes
    except ValueError as error:
        raise InvokeError(f"--sample {name}: {error}", 2) from None


def payload_for(
    target: Target,
    outputs: Mapping[str, Any],
    prefix: str,
    *,
    event: Path | None = None,
    sample: str | None = None,
    key: str | None = None,
    s3: Any = None,
) -> tuple[bytes, list[str]]:
    """The payload to send: the bytes of the ``event`` file, or ``sample`` built by
    :func:`sample_event` as JSON; and notes to print."""
    if event is not None and sample is None and key is None:
        return event_from_file(event), []
    if sample is not None and event is None:
        built, notes = sample_event(target, sample, outputs, prefix, key=key, s3=s3)
        return json.dumps(built).encode(), notes
    if event is not None and sample is not None:
        raise InvokeError("give --event FILE or --sample NAME, not both.", 2)
    raise InvokeError("give --event FILE or --sample NAME (--key goes with --sample).", 2)
