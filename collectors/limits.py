"""Limits checked before any parser sees a file: sizes, a zip's declared and real sizes, a sheet's extent.

Each check reads the file cheaply (a stat, a zip's central directory, a streamed scan of the sheet
XML, a byte scan for line lengths) and raises a located :class:`SourceError` naming the limit and the
setting that raises it. The known ways to abort a parser (a sheet declaring ``A1:XFD1048576``, a
gigabyte of compressed whitespace, two million rows) stop here; :mod:`collectors.sandbox` catches
the rest.
"""

from __future__ import annotations

import os
import posixpath
import re
import zipfile
from pathlib import Path

import numpy as np

from targetwatch.errors import Location, SourceError
from targetwatch.settings import Limits

ZIP_WORKBOOKS = {".xlsx", ".xlsm", ".xlsb", ".ods"}
_SHEET_XML = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?"')
# Each tag pattern twice: without a namespace prefix (a literal start, which the regex engine finds ~4x faster) and
# with one, scanned only in blocks that hold a prefixed tag at all. Together they match what <(?:\w+:)?tag matches.
_ROW = re.compile(rb"<row[\s>/]"), re.compile(rb"<\w+:row[\s>/]")
_ROW_REF = re.compile(rb'<row\b[^>]*?\br="(\d{1,12})"'), re.compile(rb'<\w+:row\b[^>]*?\br="(\d{1,12})"')
_CELL_COLUMN = re.compile(rb'<c\b[^>]*?\br="([A-Za-z]{1,8})\d'), re.compile(rb'<\w+:c\b[^>]*?\br="([A-Za-z]{1,8})\d')


def _tags(patterns: tuple[re.Pattern, re.Pattern], scan: bytes, prefixed: bytes) -> list[bytes]:
    """What ``patterns`` find in ``scan``: the prefixed form only where ``prefixed`` (``:row``, ``:c``) occurs."""
    plain, with_prefix = patterns
    return plain.findall(scan) + (with_prefix.findall(scan) if prefixed in scan else [])


_CHUNK = 1 << 20
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb"""\b(Type|Target)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _reject(path: Path, message: str, sheet: str | None = None) -> SourceError:
    return SourceError(message, Location(file=str(path), sheet=sheet))


def column_number(letters: bytes | str) -> int:
    """``A`` → 1, ``XFD`` → 16384."""
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode("ascii").upper():
        n = n * 26 + ord(ch) - 64
    return n


def check_size(path: Path, limits: Limits) -> None:
    size = os.stat(path).st_size
    if size > limits.file_bytes:
        raise _reject(path, f"file is {size:,} bytes, over the limit of {limits.file_bytes:,} (settings limits.file_bytes)")


def check_before_parsing(path: Path, limits: Limits, excel: bool, suffix: str | None = None) -> None:
    """Every limit that applies to ``path`` (a file whose name ends in ``suffix``); raise a located SourceError
    at the first one exceeded."""
    check_size(path, limits)
    if not excel:
        check_csv(path, limits)
    elif (suffix or path.suffix).lower() in ZIP_WORKBOOKS:
        check_zip_workbook(path, limits)


def check_zip_workbook(path: Path, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _reject(path, f"not a readable workbook: not a valid zip archive ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.zip_members:
            raise _reject(path, f"the workbook has {len(members):,} zip members, over the limit of {limits.zip_members:,} (settings limits.zip_members)")
        declared = sum(m.file_size for m in members)
        if declared > limits.unzipped_bytes:
            raise _reject(path, f"the workbook declares {declared:,} bytes uncompressed, over the limit of "
                                f"{limits.unzipped_bytes:,} (settings limits.unzipped_bytes)")
        linked = _linked_sheets(path, archive)
        for member in members:
            if _SHEET_XML.match(member.filename) or member.filename in linked:
                _check_sheet_xml(path, archive, member, limits)


def _linked_sheets(path: Path, archive: zipfile.ZipFile) -> set[str]:
    """The zip members the workbook's relationships name as worksheets: a sheet may live anywhere in the zip
    (``xl/elsewhere/s.xml``, ``/s.xml``) and the parser follows the relationships, so the limits do too.
    Both readings of a relative target (from ``xl/``, or as written) are taken."""
    try:
        with archive.open(_WORKBOOK_RELS) as stream:
            rels = stream.read(_CHUNK)
    except KeyError:
        return set()
    except Exception as exc:  # zlib errors, encryption, unsupported compression: unreadable
        raise _reject(path, f"not a readable workbook: {type(exc).__name__}: {exc}", _WORKBOOK_RELS) from None
    targets = set()
    for tag in _RELATIONSHIP.findall(rels):
        attributes = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTRIBUTE.finditer(tag)}
        if attributes.get(b"Type", b"").rstrip(b"/").endswith(b"/worksheet") and attributes.get(b"Target"):
            target = attributes[b"Target"].decode("utf-8", "replace")
            targets |= {target.lstrip("/"), posixpath.normpath("xl/" + target).lstrip("/"), target}
    return targets


def _check_sheet_xml(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    """Stream one sheet's XML: its declared dimension, its row count and the furthest cell it names."""
    sheet = member.filename
    rows = max_row = max_col = 0
    read = 0
    carry = b""
    try:
        with archive.open(member) as stream:
            while True:
                block = stream.read(_CHUNK)
                if not block:
                    break
                read += len(block)
                if read > member.file_size:
                    raise _reject(path, f"the sheet XML is larger than its zip entry declares ({member.file_size:,} bytes)", sheet)
                data = carry + block
                cut = data.rfind(b">") + 1  # scan whole tags only; the tail waits for the next block
                if cut == 0 and len(data) < 4 * _CHUNK:
                    carry = data
                    continue
                cut = cut or len(data)
                scan, carry = data[:cut], data[cut:]
                if max_row == 0 and rows == 0:
                    _check_dimension(path, sheet, scan, limits)
                rows += len(_tags(_ROW, scan, b":row"))
                refs = _tags(_ROW_REF, scan, b":row")
                if refs:
                    max_row = max(max_row, max(int(r) for r in refs))
                cols = _tags(_CELL_COLUMN, scan, b":c")
                if cols:
                    max_col = max(max_col, max(column_number(c) for c in set(cols)))
                extent = max(rows, max_row)
                if extent > limits.sheet_rows:
                    raise _reject(path, f"the sheet has {extent:,} rows or more, over the limit of {limits.sheet_rows:,} "
                                        "(settings limits.sheet_rows)", sheet)
                if extent * max(max_col, 1) > limits.sheet_cells:
                    raise _reject(path, f"the sheet spans {extent:,} rows × {max_col:,} columns, over the limit of "
                                        f"{limits.sheet_cells:,} cells (settings limits.sheet_cells)", sheet)
    except SourceError:
        raise
    except Exception as exc:  # zlib errors, encryption, unsupported compression, truncated data: all unreadable
        raise _reject(path, f"not a readable workbook: {type(exc).__name__}: {exc}", sheet) from None


def _check_dimension(path: Path, sheet: str, scan: bytes, limits: Limits) -> None:
    m = _DIMENSION.search(scan)
    if not m:
        return
    first_col, first_row, last_col, last_row = m.groups()
    col = column_number(last_col or first_col or b"A")
    row = int(last_row or first_row or b"1")
    if row > limits.sheet_rows or row * col > limits.sheet_cells:
        ref = m.group(0).split(b'ref="')[1].rstrip(b'"').decode("ascii", "replace")
        raise _reject(path, f"the sheet declares the dimension {ref} ({row:,} rows × {col:,} columns), over the limits of "
                            f"{limits.sheet_rows:,} rows and {limits.sheet_cells:,} cells (settings limits.sheet_rows, limits.sheet_cells)", sheet)


def check_csv(path: Path, limits: Limits) -> None:
    """No line of a CSV, and no field (a quoted one may span many short lines), may be longer than
    ``limits.csv_line_bytes``.

    One pass over the bytes, vectorised per block: a comma or newline outside quotes ends a field, and the
    parity of the quotes seen so far says which are outside (a doubled "" inside a field flips it twice).
    The bytes 0x22 and 0x2C are never part of a multi-byte character in UTF-8 or GBK/GB18030."""
    longest = limits.csv_line_bytes
    first_line = 1  # the line number where the current block starts
    line_run = field_run = 0  # bytes of the line and of the field still open at the end of the previous block
    field_line = 1  # the line where that open field started
    quoted = 0  # 1 when the previous block ended inside quotes
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            data = np.frombuffer(block, dtype=np.uint8)
            newline = data == 10
            line_ends = np.flatnonzero(newline)
            lines = _segment_lengths(line_ends, len(data), line_run)
            over = np.flatnonzero(lines > longest)
            if len(over):
                raise SourceError(f"line {first_line + int(over[0])} is longer than {longest:,} bytes (settings limits.csv_line_bytes)",
                                  Location(file=str(path), row=first_line + int(over[0])))
            if not quoted and block.find(b'"') < 0:
                # No quotes: a field that starts here lies within its line, which the line check bounds; only the
                # field carried over (it may have spanned lines inside quotes) is counted.
                ends = [i for i in (block.find(b","), block.find(b"\n")) if i >= 0]
                if field_run + (min(ends) if ends else len(block)) > longest:
                    raise _field_over(path, field_line, longest)
                last = max(block.rfind(b","), block.rfind(b"\n"))
                field_run = field_run + len(block) if last < 0 else len(block) - last - 1
                field_line = first_line + len(line_ends)
            else:
                inside = (np.bitwise_xor.accumulate((data == 34).view(np.uint8)) ^ quoted).view(bool)
                field_ends = np.flatnonzero((newline | (data == 44)) & ~inside)
                fields = _segment_lengths(field_ends, len(data), field_run)
                over = np.flatnonzero(fields > longest)
                if len(over):
                    k = int(over[0])
                    start = field_line if k == 0 else first_line + int(np.count_nonzero(newline[:field_ends[k - 1] + 1]))
                    raise _field_over(path, start, longest)
                if len(field_ends):
                    field_line = first_line + int(np.count_nonzero(newline[:field_ends[-1] + 1]))
                field_run, quoted = int(fields[-1]), int(inside[-1])
            line_run = int(lines[-1])
            first_line += len(line_ends)


def _field_over(path: Path, line: int, longest: int) -> SourceError:
    return SourceError(f"a field starting on line {line} is longer than {longest:,} bytes (settings limits.csv_line_bytes)",
                       Location(file=str(path), row=line))


def _segment_lengths(ends: np.ndarray, size: int, carried: int) -> np.ndarray:
    """Lengths of the pieces a block of ``size`` bytes splits into at the positions ``ends`` (separators not
    counted); the first piece continues the ``carried`` bytes of the previous block, the last one is still open."""
    lengths = np.diff(np.append(ends, size), prepend=-1) - 1
    lengths[0] += carried
    return lengths
