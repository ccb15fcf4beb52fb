"""Hostile workbooks, generated in the test (never committed): a minimal xlsx around any sheet XML."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterable

_CONTENT_TYPES = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
_RELS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
SHEET_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def xlsx(path: Path, sheet_parts: Iterable[bytes], sheet_name: str = "地区生产总值", level: int = 1,
         core_xml: bytes | None = None, sheet_path: str = "xl/worksheets/sheet1.xml") -> Path:
    """Write a minimal workbook whose one sheet's XML is the concatenation of ``sheet_parts`` (streamed).

    ``sheet_path``: where the sheet lives in the zip; the workbook's relationships point there (any path works)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.replace(b"/xl/worksheets/sheet1.xml", b"/" + sheet_path.encode()))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK.format(name=sheet_name).encode())
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.replace(b'Target="worksheets/sheet1.xml"', b'Target="/' + sheet_path.encode() + b'"'))
        if core_xml is not None:
            zf.writestr("docProps/core.xml", core_xml)
        info = zipfile.ZipInfo(sheet_path)
        info.compress_type = zipfile.ZIP_DEFLATED
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", level)  # renamed in 3.13
        with zf.open(info, "w", force_zip64=True) as sheet:
            for part in sheet_parts:
                sheet.write(part)
    return path


def far_corner_sheet() -> list[bytes]:
    """A sheet declaring A1:XFD1048576 with one cell in the far corner (calamine allocates the whole grid)."""
    return [SHEET_HEAD, b'<dimension ref="A1:XFD1048576"/><sheetData>',
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>']


def whitespace_bomb(gigabytes: float = 1.5) -> Iterable[bytes]:
    """About ``gigabytes`` of whitespace inside a sheet: a few MB once compressed."""
    yield SHEET_HEAD + b"<sheetData>"
    block = b" " * (1 << 24)
    for _ in range(int(gigabytes * 2**30) // len(block)):
        yield block
    yield b"</sheetData></worksheet>"


def rows_sheet(rows: int) -> list[bytes]:
    """A sheet of ``rows`` one-cell rows (without row numbers: each row is the next one)."""
    return [SHEET_HEAD, b"<sheetData>", b"<row><c><v>1</v></c></row>" * rows, b"</sheetData></worksheet>"]


def small_sheet() -> list[bytes]:
    """A readable sheet of a few cells (A1:B3)."""
    return [SHEET_HEAD, b'<dimension ref="A1:B3"/><sheetData>',
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1"><v>1</v></c></row>',
            b'<row r="3"><c r="B3"><v>2</v></c></row></sheetData></worksheet>']
