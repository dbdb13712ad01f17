"""tooling/build/reproducible_zip.py: the zip layout of every Lambda zip, and the merge of such
zips that copies their entries instead of compressing them again."""

from __future__ import annotations

import io
import zipfile

import pytest

from tooling.build import reproducible_zip
from tooling.build.reproducible_zip import (
    ZIP_TIMESTAMP,
    ZipFileEntry,
    merge_zips,
    read_entries,
    write_zip,
)

DEPENDENCY_FILES = [
    ZipFileEntry("annotated_types/__init__.py", b"A = 1\n" * 50),
    ZipFileEntry("pydantic/main.py", b"class BaseModel: ...\n" * 80),
    ZipFileEntry("pydantic_core/_core.so", bytes(range(256)) * 8, executable=True),
]
SERVICE_FILES = [
    ZipFileEntry("api_handler/handler.py", b"def lambda_handler(event, context):\n    ...\n"),
    ZipFileEntry("api_handler/\u00e9v\u00e9nements.py", b"# a non-ASCII name\n"),
    ZipFileEntry("trading_api_handler-0.1.0.dist-info/RECORD", b"api_handler/handler.py,,\n"),
]


def infos(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.infolist()


def test_a_zip_is_sorted_with_fixed_timestamps_and_modes() -> None:
    data = write_zip([*SERVICE_FILES, *DEPENDENCY_FILES])

    assert [info.filename for info in infos(data)] == [
        "annotated_types/__init__.py",
        "api_handler/handler.py",
        "api_handler/\u00e9v\u00e9nements.py",
        "pydantic/main.py",
        "pydantic_core/_core.so",
        "trading_api_handler-0.1.0.dist-info/RECORD",
    ]
    assert {info.date_time for info in infos(data)} == {ZIP_TIMESTAMP}
    assert {info.compress_type for info in infos(data)} == {zipfile.ZIP_DEFLATED}
    assert {info.create_system for info in infos(data)} == {3}
    assert [oct(info.external_attr >> 16) for info in infos(data)] == [
        "0o100644",
        "0o100644",
        "0o100644",
        "0o100644",
        "0o100755",
        "0o100644",
    ]
    assert write_zip(reversed([*SERVICE_FILES, *DEPENDENCY_FILES])) == data


def test_merged_zips_are_the_bytes_of_one_zip_of_all_their_files() -> None:
    dependencies = write_zip(DEPENDENCY_FILES)
    service = write_zip(SERVICE_FILES)

    merged = merge_zips([dependencies, service])

    assert merged == write_zip([*DEPENDENCY_FILES, *SERVICE_FILES])
    assert merge_zips([service, dependencies]) == merged
    assert read_entries(merged) == sorted(
        [*DEPENDENCY_FILES, *SERVICE_FILES], key=lambda entry: entry.name
    )


def test_merging_copies_the_compressed_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    dependencies = write_zip(DEPENDENCY_FILES)
    service = write_zip(SERVICE_FILES)
    expected = write_zip([*DEPENDENCY_FILES, *SERVICE_FILES])

    def no_compression(files: object) -> bytes:
        raise AssertionError("the merge compressed the files again")

    monkeypatch.setattr(reproducible_zip, "write_zip", no_compression)

    assert merge_zips([dependencies, service]) == expected


def test_a_part_laid_out_otherwise_is_written_again_to_the_same_bytes() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.comment = b"written by another tool"
        for entry in SERVICE_FILES:
            archive.writestr(entry.name, entry.data)

    merged = merge_zips([write_zip(DEPENDENCY_FILES), buffer.getvalue()])

    assert merged == write_zip([*DEPENDENCY_FILES, *SERVICE_FILES])


def test_a_result_needing_zip64_records_is_written_by_write_zip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = [write_zip(DEPENDENCY_FILES), write_zip(SERVICE_FILES)]
    calls: list[int] = []
    original = reproducible_zip.write_zip

    def counting(files: list[ZipFileEntry]) -> bytes:
        calls.append(1)
        return original(files)

    monkeypatch.setattr(reproducible_zip, "_FILE_COUNT_LIMIT", 5)
    monkeypatch.setattr(reproducible_zip, "write_zip", counting)

    merged = merge_zips(parts)

    assert calls == [1]
    assert merged == original([*DEPENDENCY_FILES, *SERVICE_FILES])


def test_two_files_of_one_name_are_refused() -> None:
    twin = ZipFileEntry("pydantic/main.py", b"another\n")

    with pytest.raises(ValueError, match=r"two files named 'pydantic/main\.py'"):
        write_zip([*DEPENDENCY_FILES, twin])
    with pytest.raises(ValueError, match=r"two files named 'pydantic/main\.py'"):
        merge_zips([write_zip(DEPENDENCY_FILES), write_zip([twin])])
