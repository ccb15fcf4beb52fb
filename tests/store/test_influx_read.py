"""The InfluxDB backend's read path: the Flux it sends, and its parsing of annotated-CSV answers.

No InfluxDB 2 server runs here. A recording HTTP server on 127.0.0.1 answers ``POST /api/v2/query``
with bodies in InfluxDB's documented annotated-CSV format (``#group``, ``#datatype``, ``#default`` rows,
``\\r\\n`` line ends, several tables, blank-line-separated schema blocks, empty answers) and keeps the
Flux it receives.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from tests.conftest import free_port

from targetwatch.store import READ_COLUMNS, StagedChunk
from targetwatch.store.influx import InfluxStore
from targetwatch.store.influx_flux import observation_query, parse_annotated_csv

# One block, two tables (0 and 1) after ``last() |> pivot()`` without the final group(): each table
# keeps its group key, and the revision rides in the nanoseconds of _time.
TWO_TABLES = (
    "#group,false,false,true,true,false,true,true,true,true,false,false,false\r\n"
    "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339Nano,string,string,string,string,long,double,long\r\n"
    "#default,_result,,,,,,,,,,,\r\n"
    ",result,table,_start,_stop,_time,basis,indicator,period,unit,batch,value,revision\r\n"
    ",,0,1970-01-01T00:00:00Z,2023-08-16T00:00:01Z,2023-08-15T00:00:00.000000002Z,ytd,gdp,20230106,daxiang,2,121,2\r\n"
    ",,1,1970-01-01T00:00:00Z,2023-08-16T00:00:01Z,2023-07-15T00:00:00.000000001Z,ytd,gdp,20230106,beita,1,99.5,1\r\n"
    "\r\n"
)
# A second block with another schema (another column order, result left to its #default).
SECOND_BLOCK = (
    "#group,false,false,false,false,false,false,false,false,false,false\r\n"
    "#datatype,string,long,string,string,string,string,dateTime:RFC3339Nano,double,long,long\r\n"
    "#default,_result,,,,,,,,,\r\n"
    ",result,table,unit,indicator,period,basis,_time,value,revision,batch\r\n"
    ",,2,shaodong,gdp,20230103,period,2023-04-20T08:30:00.000000001Z,30.25,1,1\r\n"
    "\r\n"
)


class RecordingInflux(ThreadingHTTPServer):
    def __init__(self, answer: str):
        self.answer, self.requests, self.writes = answer, [], []
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204 if self.path == "/ping" else 404)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/api/v2/write"):
            self.server.writes.append(body.decode())
            self.send_response(204)
            self.end_headers()
            return
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(body)})
        payload = self.server.answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def influx(request, tmp_path):
    server = RecordingInflux(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = InfluxStore(server.url, "gov", "tw", "s3cret", tmp_path / "spool")
    yield server, store
    store.close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("influx", [TWO_TABLES + SECOND_BLOCK], indirect=True)
def test_read_sends_as_of_flux_and_returns_every_table_typed(influx):
    server, store = influx
    frame = store.read(["gdp"], ["daxiang", "beita", "shaodong"], 20230101, 20231212,
                       as_of=datetime(2023, 8, 16, tzinfo=timezone.utc))
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request["path"] == "/api/v2/query?org=gov"
    assert request["auth"] == "Token s3cret"
    assert request["body"]["query"] == (
        'from(bucket: "tw")\n'
        "  |> range(start: 1970-01-01T00:00:00Z, stop: 2023-08-16T00:00:01Z)\n"
        '  |> filter(fn: (r) => r._measurement == "observation")\n'
        '  |> filter(fn: (r) => r._field == "value" or r._field == "revision" or r._field == "batch")\n'
        '  |> filter(fn: (r) => r.indicator == "gdp")\n'
        '  |> filter(fn: (r) => r.unit == "daxiang" or r.unit == "beita" or r.unit == "shaodong")\n'
        '  |> filter(fn: (r) => r.period >= "20230101")\n'
        '  |> filter(fn: (r) => r.period <= "20231212")\n'
        "  |> last()\n"
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
        '  |> keep(columns: ["_time", "indicator", "unit", "period", "basis", "value", "revision", "batch"])\n'
        "  |> group()\n"
        '  |> sort(columns: ["indicator", "period", "unit", "basis", "_time"])'
    )
    assert request["body"]["dialect"]["annotations"] == ["datatype", "group", "default"]
    assert list(frame.columns) == READ_COLUMNS
    expected = pd.DataFrame(
        {
            "indicator": ["gdp", "gdp", "gdp"],
            "unit": ["shaodong", "beita", "daxiang"],
            "period": [20230103, 20230106, 20230106],
            "basis": ["period", "ytd", "ytd"],
            "value": [30.25, 99.5, 121.0],
            "revision": [1, 1, 2],
            "reported_at": pd.to_datetime(["2023-04-20T08:30:00Z", "2023-07-15T00:00:00Z", "2023-08-15T00:00:00Z"], utc=True),
            "batch": [1, 1, 2],
        }
    )
    pd.testing.assert_frame_equal(frame, expected.astype({"indicator": object, "unit": object, "basis": object}), check_dtype=False)
    assert frame["period"].dtype == "int64" and frame["revision"].dtype == "int64" and frame["value"].dtype == "float64"


@pytest.mark.parametrize("influx", ["", "\r\n"], indirect=True)
def test_an_empty_answer_is_an_empty_frame_with_the_read_columns(influx):
    server, store = influx
    frame = store.read(None, None, as_of=None)
    assert list(frame.columns) == READ_COLUMNS and frame.empty
    assert "stop: 2200-01-01T00:00:00Z" in server.requests[0]["body"]["query"]
    assert "r.indicator" not in server.requests[0]["body"]["query"]


@pytest.mark.parametrize("influx", [TWO_TABLES], indirect=True)
def test_revisions_asks_for_every_point_and_names_each_batch_source(influx):
    server, store = influx
    for i, name in enumerate(["a.csv", "b.csv"]):
        good = pd.DataFrame({"indicator": ["gdp"], "unit": ["daxiang"], "period": [20230106], "basis": ["ytd"],
                             "value": [120.0 + i], "row": [2], "sheet": [None], "column": ["C"]})
        store.ingest([StagedChunk(good=good)], source=name, content_hash=name,
                     reported_at=datetime(2023, 7 + i, 15, tzinfo=timezone.utc))
    assert server.writes == [
        "observation,indicator=gdp,unit=daxiang,period=20230106,basis=ytd value=120.0,revision=1i,batch=1i 1689379200000000001",
        "observation,indicator=gdp,unit=daxiang,period=20230106,basis=ytd value=121.0,revision=2i,batch=2i 1692057600000000002",
    ]
    frame = store.revisions("gdp", "daxiang", 20230106)
    flux = server.requests[0]["body"]["query"]
    assert "last()" not in flux and 'r.period >= "20230106"' in flux and 'r.period <= "20230106"' in flux
    assert list(frame["revision"]) == [1, 2] and list(frame["source"]) == ["a.csv", "b.csv"]


def test_default_values_fill_empty_cells_and_types_follow_the_datatype_row():
    text = (
        "#group,false,false,true,false,false\r\n"
        "#datatype,string,long,string,double,boolean\r\n"
        "#default,_result,,def,,\r\n"
        ",result,table,tag,_value,flag\r\n"
        ",,0,,1.5,true\r\n"
        ",,0,x,,false\r\n"
    )
    frame = parse_annotated_csv(text)
    assert list(frame["result"]) == ["_result", "_result"]
    assert list(frame["tag"]) == ["def", "x"]
    assert frame["_value"].iloc[0] == 1.5 and pd.isna(frame["_value"].iloc[1])
    assert list(frame["flag"]) == [True, False]
    assert list(frame["table"]) == [0, 0]


def test_flux_string_literals_are_escaped():
    flux = observation_query('b"x', indicators=['a"b', "c${d}"], units=[])
    assert 'from(bucket: "b\\"x")' in flux
    assert 'r.indicator == "a\\"b" or r.indicator == "c\\${d}"' in flux
    assert "filter(fn: (r) => false)" in flux  # no units asked for: nothing matches


@pytest.mark.parametrize("influx", [""], indirect=True)
def test_settings_with_store_influxdb_open_this_backend(influx, tmp_path, monkeypatch):
    from targetwatch.settings import Settings
    from targetwatch.store import Store, open_store

    server, _ = influx
    monkeypatch.setenv("TARGETWATCH_INFLUX__TOKEN", "from-env")
    settings = Settings(store="influxdb", influx={"url": server.url, "org": "o", "bucket": "b", "spool_dir": str(tmp_path / "s2")})
    store = open_store(settings)
    try:
        assert isinstance(store, InfluxStore) and isinstance(store, Store) and store.bucket == "b"
        store.read()
        assert server.requests[-1]["auth"] == "Token from-env"
        assert (tmp_path / "s2" / "ledger.db").exists()
    finally:
        store.close()
