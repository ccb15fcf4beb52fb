"""CSV files: the canonical long form, and wide tables read by a collector mapping.

Files stream in chunks, so memory stays flat whatever the file size. The encoding is detected:
UTF-8 with or without a byte-order mark, else GB18030 (a superset of GBK, which many Chinese office
tools still write). A line with the wrong number of fields does not stop the file: the reader falls
back to a line-by-line pass that quarantines that line with its number.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from collectors.layout import LONG_CSV, SheetLayout
from collectors.numbers import PLAIN_FIGURE
from collectors.table import header_names, to_raw
from targetwatch.errors import Location, SourceError

CHUNK_ROWS = 250_000
_SNIFF_BYTES = 1 << 20


def detect_encoding(path: Path) -> str:
    """utf-8-sig for UTF-8 (BOM or not: the BOM is dropped either way), else gb18030."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise SourceError(f"neither UTF-8 nor GBK/GB18030 text (byte {exc.start})", Location(file=str(path))) from exc


REPORTED_AT = "reported_at"


def stated_report_time(path: Path, encoding: str | None = None) -> str | None:
    """The latest date or time in a CSV's ``reported_at`` column (when the department sent it), or None.

    Dates and datetimes are compared as written (ISO text sorts in time order)."""
    encoding = encoding or detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        header = next(csv.reader(fh), [])
    if REPORTED_AT not in [h.strip() for h in header]:
        return None
    stamps = pd.read_csv(path, encoding=encoding, usecols=lambda c: c.strip() == REPORTED_AT, dtype=str).iloc[:, 0]
    stamps = stamps.dropna().str.strip()
    stamps = stamps[stamps != ""]
    return str(stamps.max()) if len(stamps) else None


class BadLine(Exception):
    """The fast parser met a malformed line; the caller rereads the file line by line."""


def read_tables(path: Path, layout: SheetLayout = LONG_CSV, encoding: str | None = None) -> Iterator[tuple[pd.DataFrame, list[str], np.ndarray, list[dict]]]:
    """Yield (data, headers, source row numbers, bad lines) chunk by chunk.

    ``data`` columns are positions 0..n-1; headers are the joined header rows.
    """
    if path.stat().st_size == 0:
        raise SourceError("empty file: no header and no rows", Location(file=str(path)))
    encoding = encoding or detect_encoding(path)
    first_data_line = layout.skip_rows + layout.header_rows + 1
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            with _located_csv_errors(path, reader):
                head = [next(reader, None) for _ in range(layout.skip_rows + layout.header_rows)]
        if any(h is None for h in head):
            raise SourceError("empty file: fewer lines than the header needs", Location(file=str(path)))
        headers = header_names(head[layout.skip_rows:])
        if not any(headers):
            raise SourceError("empty file: no header", Location(file=str(path), row=layout.skip_rows + 1))
        if layout.shape == "long":
            shape = _line_shape(path)
            if not shape.blank_line:
                yield from _arrow_tables(path, headers, first_data_line, encoding, quoted=shape.quote)
                return
        reader = pd.read_csv(
            path, encoding=encoding, header=None, skiprows=first_data_line - 1, chunksize=CHUNK_ROWS,
            # Only the value column of a long file may be parsed as numbers. Ids and periods stay text, as
            # categoricals: a few thousand distinct names over millions of rows are then resolved once each.
            dtype=object if layout.shape == "wide" else {i: "category" for i, h in enumerate(headers) if h != "value"},
            names=range(len(headers)), skip_blank_lines=False, on_bad_lines="error", keep_default_na=False,
            na_values=[""], engine="c",
        )
        start = first_data_line
        for chunk in reader:
            n = len(chunk)
            chunk = chunk.reset_index(drop=True)
            rows = np.arange(start, start + n, dtype=np.int64)
            start += n
            blank = chunk.isna().all(axis=1).to_numpy()
            yield chunk[~blank].reset_index(drop=True), headers, rows[~blank], []
    except pd.errors.ParserError as exc:
        raise BadLine(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc.reason}", Location(file=str(path))) from exc


_BLOCK_BYTES = 2 << 20  # Arrow's block: the rows of a chunk (memory stays flat)
_SCAN_BYTES = 16 << 20


@dataclass
class _Shape:
    blank_line: bool  # an empty line: the Arrow reader would not count it, and row numbers would shift
    quote: bool  # a quoted field may hold a line break


def _line_shape(path: Path) -> _Shape:
    """Whether a CSV has an empty line and whether it quotes anything, in one pass over its bytes."""
    blank = quote = False
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(_SCAN_BYTES):
            seam = tail + block[:2]  # an empty line across two blocks
            blank = blank or b"\n\n" in seam or b"\n\r\n" in seam or b"\n\n" in block or b"\n\r\n" in block
            quote = quote or b'"' in block
            tail = (tail + block)[-2:]
    return _Shape(blank, quote)


def _arrow_tables(path: Path, headers: list[str], first_data_line: int, encoding: str, quoted: bool):
    """The fast reader of long tables: Arrow's multithreaded CSV parser, names dictionary-encoded (a few thousand
    distinct names over millions of rows), the value column as text and judged strictly (collectors.numbers).

    Any line Arrow cannot read (a wrong number of fields, a byte that does not decode) raises :class:`BadLine`:
    the line-by-line reader then quarantines that line with its number."""
    names = [str(i) for i in range(len(headers))]
    text_of = {i for i, h in enumerate(headers) if h == "value"}
    start = first_data_line
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(skip_rows=first_data_line - 1, column_names=names, block_size=_BLOCK_BYTES,
                                            encoding="utf8" if encoding == "utf-8-sig" else encoding),
            parse_options=pa_csv.ParseOptions(newlines_in_values=quoted, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() if i in text_of else pa.dictionary(pa.int32(), pa.string()) for i, name in enumerate(names)},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
        for batch in reader:
            n = batch.num_rows
            rows = np.arange(start, start + n, dtype=np.int64)
            start += n
            blank = np.ones(n, dtype=bool)
            for column in batch.columns:
                blank &= column.is_null().to_numpy(zero_copy_only=False)
            data = pd.DataFrame({i: (_figures_or_text(column) if i in text_of else column.to_pandas())
                                 for i, column in enumerate(batch.columns)})
            if blank.any():
                data, rows = data[~blank].reset_index(drop=True), rows[~blank]
            yield data, headers, rows, []
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        undecodable = _undecodable(path, encoding)
        if undecodable:
            raise undecodable from None
        raise BadLine(str(exc)) from exc


def _undecodable(path: Path, encoding: str) -> SourceError | None:
    """The line of the first byte sequence that does not decode, as a located error; None when all of it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK_BYTES):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The decoder may hold the first bytes of a character from the block before: never more than 3.
                start = max(exc.start - (len(exc.object) - len(block)), 0)
                line += block.count(b"\n", 0, start)
                return SourceError(f"cannot decode line {line}: {exc.reason}", Location(file=str(path), row=line))
            line += block.count(b"\n")
    return None


def _figures_or_text(column: pa.Array) -> pd.Series:
    """A value column as floats when every cell is a plain figure or blank, else as text for the strict reading."""
    plain = pc.match_substring_regex(column, PLAIN_FIGURE)
    if len(column) == 0 or pc.all(pc.or_kleene(plain, pc.is_null(column))).as_py():
        return pd.Series(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))
    return pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)


@contextlib.contextmanager
def _located_csv_errors(path: Path, reader):
    """The csv module's own errors (a field over its size limit, a NUL byte) reject the file at their line."""
    try:
        yield
    except csv.Error as exc:
        raise SourceError(f"unreadable CSV at line {reader.line_num}: {exc}", Location(file=str(path), row=reader.line_num)) from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot decode line {reader.line_num + 1}: {exc.reason}", Location(file=str(path), row=reader.line_num + 1)) from None


def read_tables_slowly(path: Path, layout: SheetLayout = LONG_CSV, encoding: str | None = None):
    """The line-by-line fallback: each malformed line becomes a bad line with its number."""
    encoding = encoding or detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh, contextlib.ExitStack() as stack:
        reader = csv.reader(fh)
        stack.enter_context(_located_csv_errors(path, reader))
        head = [next(reader, []) for _ in range(layout.skip_rows + layout.header_rows)]
        headers = header_names(head[layout.skip_rows:])
        good, numbers, bad = [], [], []
        for record in reader:
            line = reader.line_num
            if not any(field.strip() for field in record):
                continue
            if len(record) != len(headers):
                bad.append({"sheet": None, "row": line, "column": None,
                            "reason": f"malformed line: expected {len(headers)} fields, found {len(record)}",
                            "raw": ",".join(record)[:500]})
                continue
            good.append([f if f != "" else None for f in record])
            numbers.append(line)
        data = pd.DataFrame(good, columns=range(len(headers)), dtype=object)
        yield data, headers, np.array(numbers, dtype=np.int64), bad


def read_raw(path: Path, layout: SheetLayout = LONG_CSV, encoding: str | None = None, slow: bool = False):
    """Yield (raw frame, skipped count, bad lines) per chunk of a CSV file."""
    tables = read_tables_slowly(path, layout, encoding) if slow else read_tables(path, layout, encoding)
    for data, headers, rows, bad in tables:
        raw, skipped = to_raw(data, headers, rows, layout, file=str(path), sheet="")
        yield raw, skipped, bad
