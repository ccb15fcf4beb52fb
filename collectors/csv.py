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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from collectors.layout import LONG_CSV, SheetLayout
from collectors.numbers import plain_figures
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
        if layout.shape == "long" and _cuttable(encoding, path):
            yield from _arrow_tables(path, headers, first_data_line, encoding)
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


_BLOCK_BYTES = 8 << 20  # bytes parsed at once: some 300,000 canonical rows per chunk, and memory stays flat
# Encodings in which a newline, a quote and a comma byte are always those characters (never part of another
# character): the fast reader cuts the file into blocks at such bytes. Any other encoding reads through pandas.
_CUTTABLE = {"utf-8", "utf-8-sig", "ascii", "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "latin-1", "iso8859-1", "cp1252"}


def _cuttable(encoding: str, path: Path) -> bool:
    """Whether the fast reader can cut the file into blocks of records at its newlines: an encoding of ``_CUTTABLE``,
    and lines that end in a newline (a file whose lines end in a carriage return alone reads through pandas)."""
    try:
        if codecs.lookup(encoding).name not in _CUTTABLE:
            return False
    except LookupError:
        return False
    with open(path, "rb") as fh:
        head = fh.read(_BLOCK_BYTES)
    return not _lone_carriage_return(head)


def _lone_carriage_return(data: bytes) -> bool:
    return data.find(b"\r") >= 0 and data.count(b"\r") != data.count(b"\r\n")


def _record_ends(data: bytes, count: int | None = None) -> np.ndarray:
    """Offsets just past the newlines of ``data`` that end a record (not inside quotes), the first ``count`` only
    when given. ``data`` starts at a record boundary; a doubled quote inside a field flips the parity twice."""
    raw = np.frombuffer(data, dtype=np.uint8)
    newline = raw == 10
    if data.find(b'"') >= 0:
        newline &= np.bitwise_xor.accumulate((raw == 34).view(np.uint8)) == 0
    ends = np.flatnonzero(newline)
    return (ends[:count] if count is not None else ends) + 1


def _record_blocks(path: Path, skip_records: int) -> Iterator[tuple[bytes | memoryview, bool]]:
    """The data of a CSV after its first ``skip_records`` records (title and header rows), in blocks of whole
    records of about ``_BLOCK_BYTES``, each with whether it holds a quote (a quoted field may span lines)."""
    with open(path, "rb") as fh:
        data = fh.read(_BLOCK_BYTES)
        eof = len(data) < _BLOCK_BYTES
        if skip_records:
            ends = _record_ends(data, skip_records)
            if len(ends) < skip_records:
                return  # nothing after the header (read_tables has read it)
            data = data[ends[-1]:]
        while True:
            if not eof and len(data) < _BLOCK_BYTES:
                more = fh.read(_BLOCK_BYTES - len(data))
                eof, data = len(more) < _BLOCK_BYTES - len(data), data + more
            if eof:
                if data:
                    yield data, data.find(b'"') >= 0
                return
            quoted = data.find(b'"') >= 0
            cut = data.rfind(b"\n") + 1 if not quoted else int(_record_ends(data)[-1:].sum())
            if cut == 0:  # no record ends in the block: read on
                if len(data) > 4 * _BLOCK_BYTES:
                    raise BadLine(f"no record ends within {len(data):,} bytes: an unbalanced quote?")
                more = fh.read(_BLOCK_BYTES)
                eof, data = len(more) < _BLOCK_BYTES, data + more
                continue
            yield memoryview(data)[:cut], quoted  # a view: the block is not copied again
            data = data[cut:]


def _arrow_tables(path: Path, headers: list[str], first_data_line: int, encoding: str):
    """The fast reader of long tables: blocks of whole records parsed by Arrow, names dictionary-encoded (a few
    thousand distinct names over millions of rows), the value column as floats when every cell is a plain figure
    (collectors.numbers), else as text for the strict reading.

    Any line Arrow cannot read (a wrong number of fields, a byte that does not decode) raises :class:`BadLine`:
    the line-by-line reader then quarantines that line with its number."""
    names = [str(i) for i in range(len(headers))]
    value_of = {i for i, h in enumerate(headers) if h == "value"}
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() if i in value_of else pa.dictionary(pa.int32(), pa.string()) for i, name in enumerate(names)},
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    arrow_encoding = "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    start = first_data_line
    try:
        for batch in _parsed_blocks(_record_blocks(path, first_data_line - 1), names, convert, arrow_encoding):
            if batch is None:
                continue
            rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
            start += batch.num_rows
            columns = batch.columns
            blank = None
            if all(column.null_count for column in columns):  # a row all blank (",,," or an empty line) is no row
                blank = np.ones(batch.num_rows, dtype=bool)
                for column in columns:
                    blank &= column.is_null().to_numpy(zero_copy_only=False)
            data = pd.DataFrame({i: _value_cells(column) if i in value_of else _categorical(column) for i, column in enumerate(columns)})
            if blank is not None and blank.any():
                data, rows = data[~blank].reset_index(drop=True), rows[~blank]
            yield data, headers, rows, []
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        undecodable = _undecodable(path, encoding)
        if undecodable:
            raise undecodable from None
        raise BadLine(str(exc)) from exc


def _parsed_blocks(blocks: Iterator[tuple[bytes | memoryview, bool]], names: list[str], convert, encoding: str) -> Iterator[pa.RecordBatch | None]:
    """The parsed ``blocks``, each parsed in a worker thread while the caller works on the one before: Arrow's parser
    does not hold the interpreter, so reading a file and validating and storing it overlap on two cores."""
    with ThreadPoolExecutor(max_workers=1) as parser:
        pending = None
        for block, quoted in blocks:
            parsed = parser.submit(_parse_block, block, quoted, names, convert, encoding)
            if pending is not None:
                yield pending.result()
            pending = parsed
        if pending is not None:
            yield pending.result()


def _parse_block(block: bytes | memoryview, quoted: bool, names: list[str], convert, encoding: str) -> pa.RecordBatch | None:
    """A block of whole records as one batch (None when it holds none). An empty line is a row with every cell
    blank (Arrow's ``ignore_empty_lines=False``): it is no data, but it keeps the numbers of the rows after it."""
    table = pa_csv.read_csv(
        pa.py_buffer(block),
        read_options=pa_csv.ReadOptions(column_names=names, encoding=encoding, use_threads=False, block_size=len(block) + 1),
        parse_options=pa_csv.ParseOptions(newlines_in_values=quoted, ignore_empty_lines=False),
        convert_options=convert)
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches and batches[0].num_rows else None


def _categorical(column: pa.Array) -> pd.Categorical:
    """A dictionary-encoded column as a categorical, its dictionary as the categories (blank cells are missing)."""
    codes = column.indices.fill_null(-1) if column.null_count else column.indices
    return pd.Categorical.from_codes(codes.to_numpy(), categories=pd.Index(column.dictionary.to_pylist(), dtype=object), validate=False)


def _value_cells(column: pa.Array) -> pd.Series:
    """A value column as floats when every cell is a plain figure or blank, else as text for the strict reading."""
    figures = plain_figures(column)
    if figures is not None:
        return pd.Series(figures)
    return pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)


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
