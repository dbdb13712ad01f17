"""Function code unpacked once per ``CodeSha256``: the task roots (``/var/task``).

``<work_dir>/code/<sha256 hex>/`` holds the zip's files exactly, with the permission bits the
zip records (made readable, as Lambda makes them). A zip is unpacked into a temporary sibling
and renamed into place, so concurrent callers (threads, or two emulators sharing a work dir)
either see a complete task root or unpack their own copy and drop it; the zip is read only
when its task root is missing, and checked against the announced sha256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import shutil
import tempfile
import threading
import zipfile
from io import BytesIO
from pathlib import Path

from tooling.emulator.runtime.model import FunctionSpec

__all__ = ["CodeMismatchError", "CodeStore", "code_directory_name"]


class CodeMismatchError(Exception):
    """The zip's sha256 is not the ``code_sha256`` it was announced with."""


def code_directory_name(code_sha256: str) -> str:
    """The hex digest for Lambda's base64 ``CodeSha256``; a filesystem-safe name otherwise."""
    try:
        digest = base64.b64decode(code_sha256, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) == hashlib.sha256().digest_size:
        return digest.hex()
    return re.sub(r"[^A-Za-z0-9_.-]", "_", code_sha256).lstrip(".") or "_"


class CodeStore:
    """Task roots under ``directory``, unpacked on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def task_root(self, spec: FunctionSpec) -> Path:
        """The unpacked code of ``spec``, unpacking it if needed."""
        name = code_directory_name(spec.code_sha256)
        final = self.directory / name
        with self._lock:
            if name in self._ready:
                return final
        if not final.is_dir():
            self._unpack(spec, final)
        with self._lock:
            self._ready.add(name)
        return final

    def _unpack(self, spec: FunctionSpec, final: Path) -> None:
        archive = spec.code_zip()
        digest = base64.b64encode(hashlib.sha256(archive).digest()).decode("ascii")
        if code_directory_name(digest) != code_directory_name(spec.code_sha256):
            raise CodeMismatchError(
                f"{spec.function_name}: the code zip's sha256 is {digest}, "
                f"not the CodeSha256 {spec.code_sha256} it was deployed with"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=self.directory))
        try:
            with zipfile.ZipFile(BytesIO(archive)) as bundle:
                for member in bundle.infolist():
                    extracted = Path(bundle.extract(member, staging))
                    mode = (member.external_attr >> 16) & 0o777
                    if not member.is_dir():
                        extracted.chmod((mode or 0o644) | 0o444)
            try:
                staging.rename(final)
            except OSError:
                if not final.is_dir():  # not a concurrent unpack that won the race
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
