"""File replay: JSONL and CSV, with broken lines kept aside and the rest still read."""

import json

from monitor.collectors import read_records


def _lines(records):
    return [(r.line, r.problem is None) for r in records]


def test_jsonl_with_broken_lines(tmp_path):
    path = tmp_path / "mentions.jsonl"
    good = {"platform": "facebook", "id": "1", "created_at": "2026-03-14T08:49:01Z", "text": "Hallo"}
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(good).encode() + b"\n"
        + b"{not json\n"
        + b"\n"
        + json.dumps({**good, "id": "2", "text": "Gr\xfc\xdfe"}).encode("utf-8") + b"\n"
        + b'{"platform": "x", "text": "\xff\xfe broken"}\n'
        + json.dumps({**good, "id": "3"}).encode()  # no trailing newline
    )
    records = list(read_records(path))
    assert _lines(records) == [(1, True), (2, False), (4, True), (5, False), (6, True)]
    assert "invalid JSON" in records[1].problem
    assert records[1].raw.startswith("{not json")
    assert "not UTF-8" in records[3].problem
    assert records[2].payload["text"] == "Grüße"


def test_jsonl_resumes_after_checkpoint(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps({"n": i}) for i in range(5)) + "\n")
    assert [r.payload["n"] for r in read_records(path, start_line=3)] == [3, 4]


def test_csv_with_metrics_quotes_and_bad_rows(tmp_path):
    path = tmp_path / "mentions.csv"
    path.write_bytes(
        "platform,id,created_at,text,scope,likes\n"
        'facebook,1,2026-03-14T08:49:01Z,"Hallo, Stadt",stadt,3\n'
        'facebook,2,2026-03-14T08:50:01Z,"Zeile eins\nZeile zwei",stadt,\n'
        "facebook,3,too,few\n".encode()
        + b"facebook,4,2026-03-14T08:51:01Z,\xff,stadt,1\n"
        + "instagram,5,2026-03-14T08:52:01Z,Tschüss,stadt,x\n".encode()
    )
    records = list(read_records(path))
    ok = [r for r in records if r.problem is None]
    bad = [r for r in records if r.problem is not None]
    assert [r.payload["id"] for r in ok] == ["1", "2", "5"]
    assert ok[0].payload["text"] == "Hallo, Stadt" and ok[0].payload["metrics"] == {"likes": 3}
    assert ok[1].payload["text"] == "Zeile eins\nZeile zwei"
    assert [(r.line, r.problem.split(" ")[0]) for r in bad] == [(5, "expected"), (6, "not")]  # physical lines: row 2 spans 3-4


def test_csv_without_text_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    (record,) = list(read_records(path))
    assert "no 'text' column" in record.problem and record.line == 1
