"""Reproducible zip archives, and the zip of several such archives' files without recompressing.

:func:`write_zip` writes files the way every Lambda zip of this repository is written: entries
sorted by name, no directory entries, every timestamp :data:`ZIP_TIMESTAMP` (the earliest a zip
can record), Unix permissions 0o644, or 0o755 for an executable file, ZIP_DEFLATED at level
:data:`ZIP_COMPRESSLEVEL`, through :mod:`zipfile`. The same files give the same bytes (with the
same zlib; CPython's bundled/system zlib rarely changes).

In such a zip, an entry's local record (local header, name, compressed data) depends on its own
file only; the central directory alone says where each record starts (PKWARE APPNOTE 4.3.6).
:func:`merge_zips` therefore writes the zip of the union of the files of several such zips by
copying each entry's local record and central directory header as they are, in name order,
with the offsets and the end record written anew: the bytes :func:`write_zip` gives for all
those files at once, without compressing any of them again. A part whose layout differs from
that (zip64 records, data descriptors, extra fields, comments) and a result that would need
zip64 records are written by :func:`write_zip` from the decompressed files instead, which gives
the same bytes the slow way.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ZIP_COMPRESSLEVEL",
    "ZIP_TIMESTAMP",
    "ZipFileEntry",
    "merge_zips",
    "read_entries",
    "write_zip",
]

#: Every zip entry's timestamp: the earliest a zip file can record.
ZIP_TIMESTAMP: Final[tuple[int, int, int, int, int, int]] = (1980, 1, 1, 0, 0, 0)
#: zlib level of every entry (ZIP_DEFLATED). Changing it changes every zip's bytes.
ZIP_COMPRESSLEVEL: Final = 9

_FILE_MODE: Final = 0o644
_EXECUTABLE_MODE: Final = 0o755
_UNIX: Final = 3  # "version made by" host system: external_attr holds Unix permissions

# The records zipfile writes (APPNOTE 4.3.7 local file header, 4.3.12 central directory
# header, 4.3.16 end of central directory record).
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"
_CENTRAL_SIGNATURE: Final = b"PK\x01\x02"
_END_SIGNATURE: Final = b"PK\x05\x06"
_OFFSET_FIELD: Final = 42  # where a central directory header holds its local record's offset
_DATA_DESCRIPTOR_FLAG: Final = 0x08
_UTF8_FLAG: Final = 0x800
# Past these, zipfile writes zip64 records (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT).
_ZIP64_LIMIT: Final = (1 << 31) - 1
_FILE_COUNT_LIMIT: Final = (1 << 16) - 1


@dataclass(frozen=True)
class ZipFileEntry:
    """One file of a zip: its POSIX path inside the zip, its bytes, its executable bit."""

    name: str
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class _Record:
    name: str
    local: bytes  # local header, name and compressed data
    central: bytes  # central directory header and name


def write_zip(files: Iterable[ZipFileEntry]) -> bytes:
    """The reproducible zip of ``files`` (module docstring); ValueError for a duplicate name."""
    entries = sorted(files, key=lambda entry: entry.name)
    _check_unique(entry.name for entry in entries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=ZIP_TIMESTAMP)
            info.create_system = _UNIX
            mode = _EXECUTABLE_MODE if entry.executable else _FILE_MODE
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(
                info,
                entry.data,
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=ZIP_COMPRESSLEVEL,
            )
    return buffer.getvalue()


def read_entries(data: bytes) -> list[ZipFileEntry]:
    """The files of a zip written by :func:`write_zip`, decompressed, in the zip's order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            ZipFileEntry(
                info.filename,
                archive.read(info),
                executable=bool((info.external_attr >> 16) & 0o111),
            )
            for info in archive.infolist()
        ]


def merge_zips(parts: Sequence[bytes]) -> bytes:
    """What :func:`write_zip` writes for all the files of ``parts`` (each written by it).

    ValueError when two parts hold a file of the same name.
    """
    parsed = [_records(part) for part in parts]
    records: list[_Record] = []
    for part_records in parsed:
        if part_records is None:
            return _rewrite(parts)
        records += part_records
    records.sort(key=lambda record: record.name)
    _check_unique(record.name for record in records)
    body = bytearray()
    directory = bytearray()
    for record in records:
        offset = len(body)
        body += record.local
        directory += record.central[:_OFFSET_FIELD]
        directory += struct.pack("<L", offset)
        directory += record.central[_OFFSET_FIELD + 4 :]
    if (
        len(records) > _FILE_COUNT_LIMIT
        or len(body) > _ZIP64_LIMIT
        or len(directory) > _ZIP64_LIMIT
    ):
        return _rewrite(parts)
    count = len(records)
    end = _END.pack(_END_SIGNATURE, 0, 0, count, count, len(directory), len(body), 0)
    return bytes(body + directory + end)


def _rewrite(parts: Sequence[bytes]) -> bytes:
    return write_zip(entry for part in parts for entry in read_entries(part))


def _check_unique(names: Iterable[str]) -> None:
    previous = None
    for name in names:  # sorted: a duplicate follows its twin
        if name == previous:
            raise ValueError(f"two files named {name!r} in one zip")
        previous = name


def _records(data: bytes) -> list[_Record] | None:
    """The entries of a zip laid out as :func:`write_zip` lays it out; None for another layout."""
    if len(data) < _END.size:
        return None
    signature, disk, directory_disk, on_disk, count, directory_size, directory_offset, comment = (
        _END.unpack_from(data, len(data) - _END.size)
    )
    if (
        signature != _END_SIGNATURE
        or (disk, directory_disk, comment) != (0, 0, 0)
        or on_disk != count
        or directory_offset + directory_size != len(data) - _END.size
    ):
        return None
    records = []
    position = directory_offset
    expected_offset = 0
    for _ in range(count):
        record = _record(data, position, expected_offset)
        if record is None:
            return None
        records.append(record)
        position += len(record.central)
        expected_offset += len(record.local)
    if position != directory_offset + directory_size or expected_offset != directory_offset:
        return None
    return records


def _record(data: bytes, position: int, expected_offset: int) -> _Record | None:
    """The entry whose central directory header starts at ``position``, if it is laid out as
    :func:`write_zip` writes one (no extra field, comment or data descriptor) at
    ``expected_offset``; else None."""
    if position + _CENTRAL.size > len(data):
        return None
    header = _CENTRAL.unpack_from(data, position)
    # signature, versions (2 bytes each), flags, method, time, date, crc, compressed and
    # uncompressed size, name, extra and comment lengths, disk, attributes (2), offset
    flags, compressed_size = header[5], header[10]
    name_length, extra_length, comment_length = header[12:15]
    offset = header[18]
    if (
        header[0] != _CENTRAL_SIGNATURE
        or flags & _DATA_DESCRIPTOR_FLAG
        or (extra_length, comment_length) != (0, 0)
        or offset != expected_offset
        or offset + _LOCAL.size > len(data)
    ):
        return None
    local = _LOCAL.unpack_from(data, offset)
    if local[0] != _LOCAL_SIGNATURE or (local[-2], local[-1]) != (name_length, 0):
        return None
    raw_name = data[position + _CENTRAL.size : position + _CENTRAL.size + name_length]
    local_name = data[offset + _LOCAL.size : offset + _LOCAL.size + name_length]
    if raw_name != local_name:
        return None
    central = data[position : position + _CENTRAL.size + name_length]
    local_end = offset + _LOCAL.size + name_length + compressed_size
    name = raw_name.decode("utf-8" if flags & _UTF8_FLAG else "cp437")
    return _Record(name, data[offset:local_end], central)
