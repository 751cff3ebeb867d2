"""The import readers alone (no database): layouts, encodings, line numbers, error files."""

from __future__ import annotations

import gzip
import io

import pytest

from app.dataio.errorfile import ErrorFile
from app.dataio.layout import CSV_HEADER, SHOPIFY_COLUMNS, Format
from app.dataio.readers import read_file
from app.dataio.rows import FileError, content_id
from app.dataio.source import ERROR_COLUMNS
from tests.service.import_support import SHOPIFY_HEADER, quoted


def shopify_row(**cells: str) -> str:
    values = {name: "" for name in SHOPIFY_COLUMNS} | cells
    return ",".join(quoted(values[name]) for name in SHOPIFY_COLUMNS)


def rows_of(data: bytes, format: str | None = None):
    reading = read_file(io.BytesIO(data), format)
    return reading, list(reading.rows)


def test_layouts_are_told_from_the_first_line():
    assert read_file(io.BytesIO(b'{"type": "customer"}\n')).format is Format.JSONL
    assert read_file(io.BytesIO((SHOPIFY_HEADER + "\n").encode())).format is Format.SHOPIFY
    assert read_file(io.BytesIO((",".join(CSV_HEADER) + "\n").encode())).format is Format.CSV
    with pytest.raises(FileError, match="not recognised"):
        read_file(io.BytesIO(b"name,age\nann,3\n"))
    with pytest.raises(FileError, match="empty"):
        read_file(io.BytesIO(b""))


def test_shopify_with_bom_crlf_gzip_quoted_commas_newlines_and_tags():
    text = (
        "\ufeff" + SHOPIFY_HEADER + "\r\n"
        + shopify_row(**{"First Name": "Ann", "Email": "Ann@X.com", "Tags": " vip , ,big spender,vip",
                         "Default Address Company": "Acme, Inc", "Default Address Country Code": "FR",
                         "Note": "one\r\ntwo", "Accepts Email Marketing": "yes"}) + "\r\n"
        + shopify_row(**{"First Name": "Bob"}) + "\r\n"
    )  # fmt: skip
    reading, rows = rows_of(gzip.compress(text.encode("utf-8")))
    assert reading.format is Format.SHOPIFY
    ann, bob = rows
    assert (ann.line, bob.line) == (2, 4)  # the quoted note spans lines 2 and 3
    assert ann.values["email"] == "Ann@X.com" and ann.values["has_account"] is False
    assert ann.group_names == ["vip", "big spender"]
    assert ann.addresses == [
        {"company": "Acme, Inc", "country_code": "fr",
         "is_default_shipping": True, "is_default_billing": True}
    ]  # fmt: skip
    assert ann.values["metadata"] == {
        "shopify": {"note": "one\r\ntwo", "accepts_email_marketing": "yes"}
    }
    assert "id" not in ann.values
    assert bob.values["id"].startswith("cus_") and bob.addresses == []


def test_shopify_extra_columns_go_to_metadata_and_customer_id_seeds_the_id():
    header = "Customer ID,First Name,Email,Total Spent\n"
    _, rows = rows_of((header + "123,Ann,,9.50\n").encode(), "shopify")
    (row,) = rows
    assert row.values["metadata"] == {
        "shopify": {"customer_id": "123", "columns": {"Total Spent": "9.50"}}
    }
    assert row.values["id"] == content_id("shopify:123")


def test_our_csv_groups_the_rows_of_one_customer():
    header = "id,email,has_account,metadata,groups,address.city,address.is_default_billing\n"
    body = (
        'cus_1,a@x.com,false,"{""k"": 1}","[""vip"", ""b2b""]",Paris,true\n'
        "cus_1,a@x.com,false,,,Lyon,\n"
        "cus_2,b@x.com,,,,,\n"
        ",c@x.com,true,,,Rome,\n"
        ",C@x.com,true,,,Oslo,\n"
    )
    _, rows = rows_of((header + body).encode())
    assert [r.line for r in rows] == [2, 4, 5]
    first, second, third = rows
    assert first.values == {"id": "cus_1", "email": "a@x.com", "has_account": False,
                            "metadata": {"k": 1}}  # fmt: skip
    assert first.group_names == ["vip", "b2b"]
    assert first.addresses == [
        {"city": "Paris", "is_default_billing": True},
        {"city": "Lyon"},
    ]
    assert second.addresses == [] and second.group_names is None
    assert [a["city"] for a in third.addresses] == ["Rome", "Oslo"]


def test_a_bad_cell_is_a_problem_of_its_row_only():
    header = "id,email,has_account,metadata\n"
    _, rows = rows_of((header + "cus_1,a@x.com,maybe,\ncus_2,b@x.com,,[1]\ncus_3,,,\n").encode())
    assert rows[0].problem is not None and rows[0].problem.field == "has_account"
    assert rows[1].problem is not None and rows[1].problem.field == "metadata"
    assert rows[2].problem is None


def test_unknown_csv_column_is_refused():
    with pytest.raises(FileError, match="Unknown column"):
        rows_of(b"id,email,nickname\n", "csv")


def test_jsonl_lines_and_their_problems():
    data = (
        b'{"type": "customer_group", "id": "cusgroup_1", "name": "vip"}\n'
        b"\n"
        b"not json\n"
        b'{"type": "customer", "id": "cus_1", "addresses": [], "groups": [], "nick": 1}\n'
        b'{"type": "order"}\n'
    )
    _, rows = rows_of(data)
    assert [(r.line, r.kind) for r in rows] == [
        (1, "group"), (3, "customer"), (4, "customer"), (5, "customer")
    ]  # fmt: skip
    assert rows[0].restore and rows[0].problem is None
    assert rows[1].problem.message.startswith("Invalid JSON")
    assert "nick" in rows[2].problem.message
    assert rows[3].problem.field == "type"


def test_over_long_lines_are_skipped_and_reported(monkeypatch):
    from app.dataio import readers

    monkeypatch.setattr(readers, "open_lines", _bounded_open(100))
    data = b'{"type": "customer"}\n' + b'{"type": "customer", "x": "' + b"y" * 500 + b'"}\n{}\n'
    _, rows = rows_of(data)
    assert rows[1].problem.message == "The line is too long"
    assert rows[2].line == 3


def _bounded_open(limit):
    from app.dataio.source import open_lines

    return lambda raw: open_lines(raw, max_line=limit)


def test_the_csv_error_file_repeats_rows_and_is_read_back_as_the_same_layout():
    text = SHOPIFY_HEADER + "\n" + shopify_row(**{"First Name": "Ann", "Email": "a@x"}) + "\n"
    reading, rows = rows_of(text.encode())
    out = io.StringIO(newline="")
    errors = ErrorFile(out, reading.format, reading.header)
    errors.write(rows[0], "Email", "bad")
    written = out.getvalue()
    assert written.splitlines()[0].endswith(",".join(ERROR_COLUMNS))
    again, again_rows = rows_of(written.encode())
    assert again.format is Format.SHOPIFY
    assert again_rows[0].values == rows[0].values  # the error columns are not metadata


def test_the_jsonl_error_file_keeps_the_line_and_adds_the_error():
    reading, rows = rows_of(b'{"type": "customer", "id": "cus_1"}\n')
    out = io.StringIO()
    ErrorFile(out, reading.format, None).write(rows[0], "email", "bad")
    _, again = rows_of(out.getvalue().encode())
    assert again[0].values == {"id": "cus_1"} and again[0].problem is None
    assert '"import_error":{"line":1,"field":"email","message":"bad"}' in out.getvalue()


def test_gzipped_jsonl_with_a_bom_and_crlf_and_a_header_only_csv():
    data = gzip.compress('\ufeff{"type": "customer", "id": "cus_1"}\r\n\r\n'.encode())
    reading, rows = rows_of(data)
    assert reading.format is Format.JSONL and [r.values for r in rows] == [{"id": "cus_1"}]
    assert rows_of((",".join(CSV_HEADER) + "\r\n").encode())[1] == []
