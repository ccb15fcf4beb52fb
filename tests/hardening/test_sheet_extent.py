"""The limits find a sheet's furthest cell however its reference is written, reading millions of cells at once."""

from __future__ import annotations

import random

import pytest

from collectors import limits as file_limits
from collectors.ingest import ingest
from tests.hardening.workbooks import SHEET_HEAD, xlsx

GDP_BOOK = "inbox/shaoyang/邵阳市县市区地区生产总值_{}.xlsx"


@pytest.mark.parametrize("reference", [b'r="XFD1048576"', b"r='XFD1048576'", b'r = "XFD1048576"', b'r="&#88;FD1048576"',
                                       b'r="xfd1048576"'])
def test_a_far_cell_behind_a_small_declared_dimension_is_rejected_before_parsing(reference, tmp_path, deployment, db):
    # The dimension says A1:B3; one cell of the last row names the far corner. The parser places it where it says.
    sheet = [SHEET_HEAD, b'<dimension ref="A1:B3"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
             b'<row r="2"><c ' + reference + b"><v>1</v></c></row></sheetData></worksheet>"]
    book = xlsx(deployment.root / GDP_BOOK.format("far_cell"), sheet)
    good = tmp_path / "good.csv"
    good.write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n", encoding="utf-8")
    bad, landed = ingest(deployment, db, [book, good])
    assert bad.rejected and "the sheet spans 1,048,576 rows × 16,384 columns, over the limit of 20,000,000 cells" in bad.error, bad.error
    assert landed.ok and landed.batch.revisions_added == 1


def test_the_vectorised_reading_of_references_agrees_with_reading_them_one_by_one():
    rng = random.Random(15)

    def reference() -> bytes:
        letters = "".join(rng.choice("ABCXYZabz") for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 9])))
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 3, 7, 9, 13])))
        quote = rng.choice('""""\'')
        odd = rng.random() < 0.05
        return f" r{' = ' if odd else '='}{quote}{letters}{digits}{quote}".encode()

    for _ in range(2000):
        scan = b"".join(rng.choice([b"<row", b"<c", b"<x:c", b"<v>1</v>", b"<f>A1=B2</f>", b">"]) + reference() + b"/>"
                        for _ in range(rng.randint(0, 6)))
        assert file_limits._furthest_reference(scan) == file_limits._furthest_reference_slowly(scan), scan


def _replace_member(book, member: str, content: bytes) -> None:
    """Rewrite ``book`` with ``member`` holding ``content`` (every other member as it was)."""
    import zipfile

    with zipfile.ZipFile(book) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, content if info.filename == member else data)


def test_a_bomb_in_the_second_sheet_is_stopped_before_the_parser_reads_it_while_the_first_one_is_read(deployment, db):
    # The sheets are checked one by one as the parser reaches them: the first (good) sheet is parsed and read, the
    # second is a far-corner bomb. The limits stop it (not the parser's memory limit), and nothing of the file lands.
    from tests.hardening.workbooks import far_corner_sheet

    book = deployment.root / GDP_BOOK.format("2023年二季度")
    _replace_member(book, "xl/worksheets/sheet2.xml", b"".join(far_corner_sheet()))
    (result,) = ingest(deployment, db, [book])
    assert result.rejected and "the sheet declares the dimension A1:XFD1048576" in result.error, result.error
    assert "xl/worksheets/sheet2.xml" in result.error and "parser" not in result.error
    assert db.read().empty and db.quarantined(result.file)["reason"].str.startswith("file rejected:").all()
