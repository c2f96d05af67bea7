import json

import pytest

from autocoder.codebook import load_codebook
from autocoder.errors import RecordError
from autocoder.jsonl import read_records, record_from_dict, write_records
from autocoder.records import Presence


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_minimal_record_gets_defaults_and_derived_id():
    record = record_from_dict({"text": "We hebben elkaar nodig."})
    assert record.fragment.start == 0
    assert record.fragment.end == len("We hebben elkaar nodig.")
    assert record.fragment.id.startswith("f")
    assert record.coding is None


def test_coding_and_unknown_fields_survive_a_round_trip(tmp_path):
    data = {
        "id": "r1:0-5",
        "report": "r1",
        "text": "Zeker",
        "factor": "concretisering",
        "presence": "absent",
        "priority": "high",
        "coder": "anna",
        "tags": ["wish"],
    }
    record = record_from_dict(data, load_codebook())
    assert record.coding.presence is Presence.ABSENT
    out = tmp_path / "out.jsonl"
    write_records(out, [record])
    back = json.loads(out.read_text(encoding="utf-8"))
    assert back["tags"] == ["wish"]
    assert back["factor"] == "concretisering"
    assert back["priority"] == "high"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": "x"}', "missing or empty 'text'"),
        ('{"text": "a", "factor": "onbekend"}', "not in codebook"),
        ('{"text": "a", "factor": "stabiliteit", "presence": "ja"}', "'presence' must be"),
        ('{"text": "a", "start": 5, "end": 2}', "'start' and 'end'"),
        ('{"text": "a", "factor": null, "presence": "present"}', "no factor"),
        ('["a list"]', "JSON object"),
    ],
)
def test_bad_lines_name_file_line_and_reason(tmp_path, line, reason):
    path = write_lines(tmp_path / "in.jsonl", ['{"text": "goed"}', line])
    with pytest.raises(RecordError) as info:
        read_records(path, load_codebook())
    assert "in.jsonl:2: " in str(info.value)
    assert reason in str(info.value)


def test_skip_invalid_reports_and_keeps_the_rest(tmp_path):
    path = write_lines(tmp_path / "in.jsonl", ['{"text": "een"}', "{bad", "", '{"text": "twee"}'])
    result = read_records(path, skip_invalid=True)
    assert [r.fragment.text for r in result.records] == ["een", "twee"]
    assert [e.line for e in result.skipped] == [2]


def test_non_utf8_file_is_one_clear_error(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"text": "café"}\n'.encode("latin-1"))
    with pytest.raises(Exception, match="not UTF-8"):
        read_records(path)
