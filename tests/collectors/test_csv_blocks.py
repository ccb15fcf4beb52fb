"""The fast CSV reader cuts a file into blocks of whole records: whatever the block boundaries, it reads what the
line-by-line reader reads, every bad row quarantined with its row and column, and its figures as strictly."""

import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from collectors import csv as csv_reader
from collectors.ingest import _chunks, ingest_file
from collectors.numbers import PLAIN_FIGURE, read_values
from collectors.validate import Counts

HEADER = "unit,indicator,period,value\n"
# Good rows, bad rows of every kind, figures that are no plain figures, blank lines of three kinds.
LINES = [
    "北塔区,gdp,2023-Q1,10", "大祥区,gdp,2023-Q1,1.", "邵东市,gdp,2023-Q1,.5", "", "武冈市,gdp,2023-Q1,-.5",
    "火星区,gdp,2023-Q1,1", "双清区,moon_gdp,2023-Q1,2", ",,,", "隆回县,gdp,2023-Q1,-", "洞口县,gdp,2023-Q1,--1",
    "新邵县,gdp,2023-Q1,1-2", "\r", "邵阳县,gdp,2023-13,3", "绥宁县,gdp,2023-06,4", "新宁县,gdp,2023-Q1,1e3",
    "城步苗族自治县,gdp,2023-Q1,+7", "北塔区,gdp,2023-Q2,-0.25", "大祥区,gdp,2023-Q2,十二", "邵东市,gdp,2023-Q2,12 34",
]


def staged(path: Path, deployment, slow: bool) -> tuple[list, list]:
    """(good rows, quarantined rows) as the validation stages them, each sorted by row."""
    chunks = list(_chunks(csv_reader.read_raw(path, slow=slow), deployment, Counts(), [], path))
    good = pd.concat([c.good for c in chunks if len(c.good)], ignore_index=True)
    bad = pd.concat([c.bad for c in chunks if len(c.bad)], ignore_index=True)
    return (sorted(good[["row", "unit", "indicator", "period", "basis", "value"]].astype({"unit": str, "indicator": str, "basis": str})
                   .itertuples(index=False, name=None)),
            sorted(bad[["row", "column", "reason"]].itertuples(index=False, name=None)))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("block", [61, 97, 1 << 20])
def test_every_block_size_reads_what_the_line_by_line_reader_reads(tmp_path, deployment, monkeypatch, encoding, block):
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", block)
    rows = [LINES[i % len(LINES)] for i in range(200)]
    f = tmp_path / "mixed.csv"
    f.write_bytes((HEADER + "\n".join(rows) + "\n").encode(encoding))
    fast = staged(f, deployment, slow=False)
    assert fast == staged(f, deployment, slow=True)
    good, bad = fast
    assert len(good) == 6 * 10 + 3  # six good rows in each of the ten whole rounds of LINES, three in the last part
    assert {row for row, *_ in bad if row < 2 + len(LINES)} == {3, 7, 8, 11, 12, 14, 15, 19, 20}
    assert (3, "value", "not a number: '1.'") in bad  # Arrow reads "1." as 1.0: the strict reading does not


def test_a_quoted_field_with_line_breaks_across_a_block_boundary_stays_one_field(tmp_path, deployment, db, monkeypatch):
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 64)
    good = "".join(f"北塔区,gdp,{year}-Q1,{year}\n" for year in range(2001, 2011))
    f = tmp_path / "quoted.csv"
    f.write_text(HEADER + good + '"火星区,\n\n外",gdp,2023-Q2,"1,000"\n' + good.replace("Q1", "Q2"), encoding="utf-8")
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined) == (20, 1)
    assert db.quarantined()[["row", "column"]].values.tolist() == [[12, "unit"]]
    assert "unknown unit '火星区,外'" in db.quarantined()["reason"][0]


def test_a_malformed_line_in_a_later_block_is_quarantined_by_its_line_and_nothing_else_is_lost(tmp_path, deployment, db, monkeypatch):
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 128)
    lines = [f"北塔区,gdp,{year}-Q{q},{year}.{q}" for year in range(2001, 2021) for q in (1, 2, 3, 4)]
    lines[70] += ",extra"
    f = tmp_path / "late.csv"
    f.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined) == (79, 1)
    q = db.quarantined()
    assert q["row"].tolist() == [72] and "expected 4 fields, found 5" in q["reason"][0]


def test_lines_ending_in_a_carriage_return_alone_still_read_with_their_row_numbers(tmp_path, deployment, db):
    f = tmp_path / "mac.csv"
    f.write_bytes((HEADER + "北塔区,gdp,2023-Q2,10\n火星区,gdp,2023-Q2,1\n").replace("\n", "\r").encode())
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined) == (1, 1)
    assert db.quarantined()[["row", "column"]].values.tolist() == [[3, "unit"]]


def test_plain_figures_are_judged_on_their_bytes_as_the_regular_expression_judges_them():
    # Digits, minus signs and points in every arrangement: the byte test and Arrow's cast together must accept
    # exactly the plain figures, and read them as float() does; anything else goes to the strict reading.
    import re

    from collectors.numbers import plain_figures

    rng = random.Random(15)
    for _ in range(3000):
        cells = ["".join(rng.choice("0123456789.-") for _ in range(rng.randint(1, 6))) if rng.random() > 0.1 else None
                 for _ in range(rng.randint(1, 3))]
        figures = plain_figures(pa.array(cells, type=pa.string()))
        plain = all(c is None or re.match(PLAIN_FIGURE, c) for c in cells)
        assert (figures is not None) == plain, cells
        if plain:
            assert [None if pd.isna(v) else v for v in figures] == [None if c is None else float(c) for c in cells]
            values, reasons, missing = read_values(pd.Series(cells, dtype=object))  # the strict reading agrees
            assert [None if m else v for v, m in zip(values, missing)] == [None if c is None else float(c) for c in cells]
