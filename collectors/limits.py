"""Limits checked before any parser sees a file: sizes, a zip's declared and real sizes, a sheet's extent.

Each check reads the file cheaply (a stat, a zip's central directory, a streamed scan of the sheet
XML, a byte scan for line lengths) and raises a located :class:`SourceError` naming the limit and the
setting that raises it. The known ways to abort a parser (a sheet declaring ``A1:XFD1048576``, a
gigabyte of compressed whitespace, two million rows) stop here; :mod:`collectors.sandbox` catches
the rest.
"""

from __future__ import annotations

import html
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
# A row tag: counted as "<row" (a plain byte search) less the one other tag that starts so; with a namespace prefix,
# by the regular expression, in the blocks that hold ":row" at all.
_PREFIXED_ROW = re.compile(rb"<\w+:row[\s>/]")


def _row_tags(scan: bytes) -> int:
    """How many row tags ``scan`` holds (rows without an r attribute count too: each is the next row)."""
    rows = scan.count(b"<row") - scan.count(b"<rowBreaks")
    return rows + (len(_PREFIXED_ROW.findall(scan)) if b":row" in scan else 0)


_CHUNK = 1 << 20
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb"""\b(Type|Target|Id)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


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


def check_before_parsing(path: Path, limits: Limits, excel: bool, suffix: str | None = None, sheets: bool = True) -> None:
    """Every limit that applies to ``path`` (a file whose name ends in ``suffix``); raise a located SourceError
    at the first one exceeded. ``sheets=False``: a workbook's sheets are left to a :class:`SheetGate`, which checks
    each one just before the parser reads it."""
    check_size(path, limits)
    if not excel:
        check_csv(path, limits)
    elif (suffix or path.suffix).lower() in ZIP_WORKBOOKS:
        check_zip_workbook(path, limits, sheets=sheets)


def _open_workbook(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _reject(path, f"not a readable workbook: not a valid zip archive ({exc})") from None


def check_zip_workbook(path: Path, limits: Limits, sheets: bool = True) -> None:
    with _open_workbook(path) as archive:
        members = archive.infolist()
        if len(members) > limits.zip_members:
            raise _reject(path, f"the workbook has {len(members):,} zip members, over the limit of {limits.zip_members:,} (settings limits.zip_members)")
        declared = sum(m.file_size for m in members)
        if declared > limits.unzipped_bytes:
            raise _reject(path, f"the workbook declares {declared:,} bytes uncompressed, over the limit of "
                                f"{limits.unzipped_bytes:,} (settings limits.unzipped_bytes)")
        linked = set().union(*_linked_sheets(path, archive).values())
        if sheets:
            for member in _sheet_members(archive, linked):
                _check_sheet_xml(path, archive, member, limits)


def _sheet_members(archive: zipfile.ZipFile, linked: set[str]) -> list[zipfile.ZipInfo]:
    return [m for m in archive.infolist() if _SHEET_XML.match(m.filename) or m.filename in linked]


def _linked_sheets(path: Path, archive: zipfile.ZipFile) -> dict[str, set[str]]:
    """The zip members the workbook's relationships name as worksheets, by relationship id: a sheet may live anywhere
    in the zip (``xl/elsewhere/s.xml``, ``/s.xml``) and the parser follows the relationships, so the limits do too.
    Both readings of a relative target (from ``xl/``, or as written) are taken."""
    try:
        with archive.open(_WORKBOOK_RELS) as stream:
            rels = stream.read(_CHUNK)
    except KeyError:
        return {}
    except Exception as exc:  # zlib errors, encryption, unsupported compression: unreadable
        raise _reject(path, f"not a readable workbook: {type(exc).__name__}: {exc}", _WORKBOOK_RELS) from None
    targets: dict[str, set[str]] = {}
    for tag in _RELATIONSHIP.findall(rels):
        attributes = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTRIBUTE.finditer(tag)}
        if attributes.get(b"Type", b"").rstrip(b"/").endswith(b"/worksheet") and attributes.get(b"Target"):
            target = attributes[b"Target"].decode("utf-8", "replace")
            rid = attributes.get(b"Id", b"").decode("utf-8", "replace")
            targets.setdefault(rid, set()).update({target.lstrip("/"), posixpath.normpath("xl/" + target).lstrip("/"), target})
    return targets


_WORKBOOK_XML = "xl/workbook.xml"
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_SHEET_ATTRIBUTE = re.compile(rb"""(?:^|\s)(name|[\w]+:id)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class SheetGate:
    """The sheet checks of :func:`check_zip_workbook`, one sheet at a time, just before the parser reads that sheet
    (:class:`collectors.sandbox.SheetStream` asks), so that the parent checks sheet N+1 while the parser reads N.

    A sheet is found by its name through the workbook's relationships; a name that cannot be followed so has every
    sheet of the workbook checked at once. Use :func:`check_before_parsing` with ``sheets=False`` first."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits = path, limits
        self.archive = _open_workbook(path)
        rels = _linked_sheets(path, self.archive)
        self.all_sheets = _sheet_members(self.archive, set().union(*rels.values()))
        present = {m.filename: m for m in self.archive.infolist()}
        self.by_name: dict[str, list[zipfile.ZipInfo]] = {}
        for name, rid in self._sheet_ids():
            self.by_name[name] = [present[t] for t in sorted(rels.get(rid, ())) if t in present]
        self.checked: set[str] = set()

    def _sheet_ids(self) -> list[tuple[str, str]]:
        try:
            with self.archive.open(_WORKBOOK_XML) as stream:
                book = stream.read(_CHUNK)
        except Exception:  # noqa: BLE001 - no such part, or unreadable: every sheet is then checked at once
            return []
        out = []
        for tag in _SHEET_TAG.findall(book):
            attributes = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _SHEET_ATTRIBUTE.finditer(tag)}
            rid = next((v for k, v in attributes.items() if k.endswith(b":id")), None)
            if b"name" in attributes and rid is not None:
                out.append((html.unescape(attributes[b"name"].decode("utf-8", "replace")), rid.decode("utf-8", "replace")))
        return out

    def check(self, name: str) -> None:
        """Raise a located SourceError when the sheet ``name`` is over a limit (before the parser reads it)."""
        members = self.by_name.get(name) or self.all_sheets  # a name not followed: check them all
        for member in members:
            if member.filename not in self.checked:
                _check_sheet_xml(self.path, self.archive, member, self.limits)
                self.checked.add(member.filename)

    def close(self) -> None:
        self.archive.close()


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
                rows += _row_tags(scan)
                furthest_row, furthest_col = _furthest_reference(scan)
                max_row, max_col = max(max_row, furthest_row), max(max_col, furthest_col)
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


# The r="B12" attribute of rows and cells, read for millions of cells at once from the bytes of whole tags.
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(b" \t\r\n")] = True
_MOST_LETTERS, _MOST_DIGITS = 8, 12  # what a reference may have at all (more: further than every limit)
_FAST_LETTERS, _FAST_DIGITS = 3, 9  # what the vectorised reading takes (XFD1048576 is 3 and 7); longer ones go slowly
_REF_WIDTH = _FAST_LETTERS + _FAST_DIGITS + 2
# What an XML parser reads as an r attribute however it is written: spaces around "=", single quotes, character references.
_ANY_REF = re.compile(rb"""(?:^|[\s])r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF_VALUE = re.compile(r"([A-Za-z]*)(\d*)")


def _furthest_reference(scan: bytes) -> tuple[int, int]:
    """The furthest row and column that the r attributes in ``scan`` (whole tags) name: a row's r="12" and a cell's
    r="B12" alike, since the parser places each cell where its reference says.

    Vectorised over the bytes: every ``="`` or ``='`` preceded by a separate ``r``. A block where an "=" has a
    space on either side, or with a reference that is not letters then digits (``&#88;FD1``), is read attribute by
    attribute as an XML parser reads it, so that no way of writing a reference hides a far cell."""
    data = np.frombuffer(scan, dtype=np.uint8)
    equals = np.flatnonzero(data == 61)
    equals = equals[(equals >= 2) & (equals < len(data) - 1)]
    before, after = data[equals - 1], data[equals + 1]
    if _WHITESPACE[before].any() or _WHITESPACE[after].any():
        return _furthest_reference_slowly(scan)
    starts = equals[(before == 114) & _WHITESPACE[data[equals - 2]] & ((after == 34) | (after == 39))] + 2
    if not len(starts):
        return 0, 0
    padded = np.concatenate([data, np.zeros(_REF_WIDTH, dtype=np.uint8)])
    # The bytes of each value, position by position: byte[i] holds the i-th byte of every value.
    byte = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, _REF_WIDTH)[starts].T)
    quote = data[starts - 1]
    letters = np.zeros(len(starts), dtype=np.int8)
    within = np.ones(len(starts), dtype=bool)  # still among the leading letters
    for i in range(_FAST_LETTERS + 1):
        upper = byte[i] & 0xDF
        within &= (upper >= 65) & (upper <= 90)
        if not within.any():
            break
        if i == _FAST_LETTERS:
            return _furthest_reference_slowly(scan)  # more letters than any sheet has columns: read one by one
        letters += within
    most = int(letters.max())
    furthest_col = int((((byte[:most, letters == most] & 0xDF).astype(np.int64) - 64).T @ 26 ** np.arange(most - 1, -1, -1)).max()) if most else 0
    furthest_row = 0
    for count in np.flatnonzero(np.bincount(letters)):  # the digits start after the letters: one pass per number of letters
        chosen = letters == count
        rows = byte[count:, chosen]
        digits = np.zeros(rows.shape[1], dtype=np.int8)
        within = np.ones(rows.shape[1], dtype=bool)
        for i in range(_FAST_DIGITS + 1):
            within &= (rows[i] >= 48) & (rows[i] <= 57)
            if not within.any():
                break
            if i == _FAST_DIGITS:
                return _furthest_reference_slowly(scan)
            digits += within
        if (rows[digits, np.arange(rows.shape[1])] != quote[chosen]).any():
            return _furthest_reference_slowly(scan)  # not letters then digits: read as the parser reads it
        longest = int(digits.max())
        if longest:
            value = (rows[:longest, digits == longest].astype(np.int64) - 48).T @ 10 ** np.arange(longest - 1, -1, -1)
            furthest_row = max(furthest_row, int(value.max()))
    return furthest_row, furthest_col


def _furthest_reference_slowly(scan: bytes) -> tuple[int, int]:
    """As :func:`_furthest_reference`, one attribute at a time, character references decoded."""
    furthest_row = furthest_col = 0
    for double, single in _ANY_REF.findall(scan):
        value = html.unescape((double or single).decode("utf-8", "replace")).strip()
        m = _REF_VALUE.fullmatch(value)
        if not m:
            continue  # not a reference: the parser cannot place a cell by it
        letters, digits = m.groups()
        if len(letters) > _MOST_LETTERS or len(digits) > _MOST_DIGITS:
            return 1 << 40, 1 << 40  # further than any sheet reaches: past every limit
        furthest_row = max(furthest_row, int(digits or 0))
        furthest_col = max(furthest_col, column_number(letters) if letters else 0)
    return furthest_row, furthest_col


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
