"""`autocoder agree` on real JSONL, CSV and project files written here; outputs and bad input."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from autocoder.cli import app
from autocoder.codebook import load_codebook
from autocoder.ingest import read_report
from autocoder.jsonl import write_records
from autocoder.records import Coding, Fragment, FragmentRecord, Presence, Report
from autocoder.segment import segment_report

CODEBOOK = load_codebook()
A, B, C = CODEBOOK.ids[:3]
RISKY = 'Hij zei: <script>alert("x")</script> & dat was het.'
SENTENCES = [
    "We hebben elkaar echt nodig in deze zaken.",
    "De werkafspraken zijn duidelijk vastgelegd.",
    "Er is veel vertrouwen tussen de partners.",
    RISKY,
    "Het gesprek vond plaats op het kantoor.",
    "Zonder de politie lukt het ons niet.",
    "Er is een heldere rolverdeling in het overleg.",
    "Het vertrouwen tussen de partners is weg.",
]
ANNA = [A, B, C, None, None, A, B, C]
BEN = [A, B, C, A, None, B, B, None]  # differs on the risky sentence and two more
runner = CliRunner()


def write_report(folder: Path, name: str, sentences: list[str]) -> Report:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        "---\nrespondent: R01\ngroup: uitvoerend\n---\n" + " ".join(sentences) + "\n",
        encoding="utf-8",
    )
    return read_report(path)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return write_report(tmp_path / "reports", "r1.txt", SENTENCES)


@pytest.fixture
def fragments(report: Report) -> list[Fragment]:
    found = segment_report(report)
    assert [f.text for f in found] == SENTENCES
    return found


def coding(factor: str | None, coder: str) -> Coding:
    return Coding(factor, Presence.PRESENT if factor else None, None, coder)


def write_jsonl(path: Path, fragments: list[Fragment], factors: list, coder: str) -> Path:
    records = [FragmentRecord(f, coding(x, coder)) for f, x in zip(fragments, factors, strict=True)]
    write_records(path, records)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ben_csv(path: Path, fragments: list[Fragment], factors: list = BEN) -> Path:
    header = ["report", "start", "end", "text", "factor", "presence", "coder"]
    rows = [
        [f.report, f.start, f.end, f.text, x or "", "present" if x else "", "ben"]
        for f, x in zip(fragments, factors, strict=True)
    ]
    return write_csv(path, header, rows)


def run(*args: object) -> object:
    result = runner.invoke(app, ["agree", *map(str, args)])
    return result


def failed(result: object, *phrases: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1
    for phrase in phrases:
        assert phrase in " ".join(result.output.split()), result.output


def test_jsonl_and_csv_json_report_and_disagreements(
    tmp_path: Path, fragments: list[Fragment]
) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    ben = ben_csv(tmp_path / "ben.csv", fragments)
    out, differ = tmp_path / "r.json", tmp_path / "differ.jsonl"
    result = run(anna, ben, "--format", "json", "--out", out, "--disagreements", differ)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["coders"] == ["anna", "ben"] and data["matched_by"] == "offsets"
    assert data["units"] == len(SENTENCES) and data["left_out"] == []
    labels = [[x or "none" for x in coder] for coder in (ANNA, BEN)]
    expected = cohen_kappa_score(*labels)
    assert data["overall"]["cohen"]["value"] == pytest.approx(expected, abs=1e-6)
    assert data["overall"]["cohen"]["ci_low"] < expected < data["overall"]["cohen"]["ci_high"]
    assert data["alpha_band"].split(" (")[0] in (
        "reliable",
        "tentative conclusions only",
        "not reliable",
    )
    assert data["bootstrap"] == {"resamples": 1000, "seed": 13, "level": 0.95}
    lines = [json.loads(line) for line in differ.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == data["disagreements"] == 3
    risky = next(line for line in lines if line["text"] == RISKY)
    assert risky["codes"] == {
        "anna": {"factor": None, "presence": None},
        "ben": {"factor": A, "presence": "present"},
    }


def test_html_report_is_self_contained_and_escapes_text(
    tmp_path: Path, fragments: list[Fragment]
) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    ben = ben_csv(tmp_path / "ben.csv", fragments)
    out = tmp_path / "agreement.html"
    result = run(anna, ben, "--format", "html", "--out", out, "--bootstrap", "200")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; dat was het." in html
    assert html.count("data:image/png;base64,") == 2  # confusion matrix and per-code bars
    assert "Disagreements to discuss (3)" in html


def test_terminal_table_and_csv(tmp_path: Path, fragments: list[Fragment]) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    ben = ben_csv(tmp_path / "ben.csv", fragments)
    table = run(anna, ben, "--bootstrap", "100")
    assert table.exit_code == 0, table.output
    for phrase in ("Krippendorff's alpha", "Cohen's kappa", "Per code", "3 units where"):
        assert phrase in table.output
    differ = tmp_path / "differ.jsonl"
    result = run(anna, ben, "--format", "csv", "--bootstrap", "0", "--disagreements", differ)
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert list(rows[0]) == ["scope", "statistic", "value", "ci_low", "ci_high", "n", "reason"]
    scopes = {row["scope"] for row in rows}
    assert {"overall", f"code {A}", "presence on same code"} <= scopes
    assert all(row["ci_low"] == "" for row in rows)  # --bootstrap 0: no intervals


def test_three_coders_give_fleiss_and_pairs(tmp_path: Path, fragments: list[Fragment]) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    ben = ben_csv(tmp_path / "ben.csv", fragments)
    cleo = write_jsonl(tmp_path / "cleo.jsonl", fragments, ANNA, "cleo")
    result = run(anna, ben, cleo, "--format", "json", "--bootstrap", "50")
    data = json.loads(result.stdout)
    assert set(data["overall"]) == {"percent", "fleiss", "alpha", "ac1"}
    pairs = {tuple(p["coders"]): p for p in data["pairwise"]}
    assert pairs[("anna", "cleo")]["cohen"]["value"] == 1.0


def test_different_segmentations_are_aligned_on_sentences(
    tmp_path: Path, fragments: list[Fragment]
) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    f = fragments
    spans = [  # a QDA coder: one span over two sentences, one phrase, one exact sentence
        [f[0].report, f[0].start, f[1].end, A, "present"],
        [f[2].report, f[2].start + 3, f[2].start + 12, C, "present"],
        [f[5].report, f[5].start, f[5].end, A, "present"],
    ]
    qda = write_csv(tmp_path / "qda.csv", ["report", "start", "end", "factor", "presence"], spans)
    failed(run(anna, qda), "different spans", "--reports DIR")
    out = tmp_path / "aligned.json"
    result = run(anna, qda, "--reports", tmp_path / "reports", "--format", "json", "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["matched_by"] == "sentence alignment"
    qda_counts = data["alignment"]["qda"]
    assert (qda_counts["split"], qda_counts["within"], qda_counts["one_to_one"]) == (1, 1, 1)
    assert qda_counts["uncoded_units"] == len(SENTENCES) - 4
    assert data["units"] == len(SENTENCES)  # anna coded every sentence
    ids = write_csv(tmp_path / "ids.csv", ["id", "factor", "presence"], [[f[0].id, A, "present"]])
    failed(run(anna, qda, ids, "--reports", tmp_path / "reports"), "1 of 1 codings have no report")
    header = ["report", "start", "end", "text", "factor", "presence"]
    moved = [[f[0].report, f[0].start + 1, f[1].end, f[0].text, A, "present"]]
    failed(
        run(
            anna,
            write_csv(tmp_path / "moved.csv", header, moved),
            "--reports",
            tmp_path / "reports",
        ),
        "1 of 1 spans do not match the report text at their offsets",
    )


def test_reports_not_every_source_coded_are_counted(tmp_path: Path, report: Report) -> None:
    fragments = segment_report(report)
    other = write_report(tmp_path / "reports", "r2.txt", SENTENCES[:3])
    extra = segment_report(other)
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments + extra, [*ANNA, A, B, C], "anna")
    ben = ben_csv(tmp_path / "ben.csv", fragments)
    result = run(anna, ben, "--format", "json", "--bootstrap", "0")
    data = json.loads(result.stdout)
    assert data["left_out"] == [
        {"coder": "anna", "count": 3, "reason": "on 1 report(s) that not every source coded"}
    ]
    assert "left out: anna: 3 on 1 report(s) that not every source coded" in result.stderr
    assert data["units"] == len(SENTENCES)


def test_bad_input_messages(tmp_path: Path, fragments: list[Fragment], report: Report) -> None:
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    wrong = write_csv(tmp_path / "wrong.csv", ["id", "code", "presence"], [["x", A, "present"]])
    failed(run(anna, wrong), "missing column(s) 'factor'", "unknown column(s) 'code'")
    foreign = [*ANNA[:6], "vertrouwen", "vertrouwen"]
    bad = write_jsonl(tmp_path / "bad.jsonl", fragments, foreign, "bad")
    failed(run(anna, bad), "2 of 8 codings use codes that are not in codebook", "'vertrouwen' (2)")
    ids = write_csv(
        tmp_path / "ids.csv", ["id", "factor", "presence"], [["x1", A, "present"], ["x2", "", ""]]
    )
    failed(run(anna, ids), "none of its 2 coded fragments is coded in another source")
    other = segment_report(write_report(tmp_path / "elsewhere", "r9.txt", SENTENCES[:2]))
    elsewhere = write_jsonl(tmp_path / "else.jsonl", other, [A, B], "else")
    failed(run(anna, elsewhere), "the sources share no report")
    empty = tmp_path / "empty.jsonl"
    write_records(empty, [FragmentRecord(f) for f in fragments])
    failed(run(anna, empty), "has nothing coded (8 records without a code)")
    failed(run(anna, tmp_path / "missing.jsonl"), "no such file")
    same = tmp_path / "same.jsonl"  # no ids, no offsets: two records of one text are one
    record = {"report": report.id, "text": "Ja.", "factor": A}
    same.write_text(f"{json.dumps(record)}\n{json.dumps(record)}\n", encoding="utf-8")
    failed(run(anna, same), "coded more than once", "without id or offsets: same report and text")
    failed(run(anna), "compare two or more sources")
    presence = write_csv(
        tmp_path / "presence.csv",
        ["report", "start", "end", "factor", "presence"],
        [[report.id, fragments[0].start, fragments[0].end, A, "maybe"]],
    )
    failed(run(anna, presence), "presence.csv:2", "presence must be")


def test_model_as_one_more_coder(tmp_path: Path, fragments: list[Fragment]) -> None:
    from autocoder.classify.blocks import ModelSettings
    from autocoder.modeldir import save_model
    from autocoder.pipeline import codebook_source
    from autocoder.train import train_model, training_set

    texts = SENTENCES * 2
    factors = (ANNA + BEN) * 1
    records = [
        FragmentRecord(Fragment(f"t{i}", f"r{i % 4}", 0, len(t), t), coding(x, "t"))
        for i, (t, x) in enumerate(zip(texts, factors, strict=True))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train_model(training_set(records), CODEBOOK, folds=0, settings=ModelSettings())
    save_model(model, tmp_path / "tiny", codebook_source(None))
    anna = write_jsonl(tmp_path / "anna.jsonl", fragments, ANNA, "anna")
    result = run(anna, "--model", tmp_path / "tiny", "--format", "json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["coders"] == ["anna", "model"] and data["units"] == len(SENTENCES)
    failed(run(anna, "--model", tmp_path / "nothing"), "nothing")


def test_project_coders_and_model_suggestions(tmp_path: Path, report: Report) -> None:
    store = pytest.importorskip("autocoder.store")
    from autocoder.pipeline import codebook_source
    from autocoder.records import Decision, Status, Suggestion

    fragments = segment_report(report)
    path = tmp_path / "study.db"
    with store.Project.open(path) as project:
        project.ensure_codebook(codebook_source(None), CODEBOOK)
        project.add_report(report, fragments, "sentence")
        model_id = project.add_model({"model_id": "m", "codebook_hash": CODEBOOK.hash})
        project.add_suggestions(
            model_id,
            [
                (f.id, Suggestion(x, Presence.PRESENT if x else None, 0.9, {}, None, (), model_id))
                for f, x in zip(fragments, BEN, strict=True)
            ],
        )
        for coder, factors in (("anna", ANNA), ("ben", BEN)):
            for f, x in zip(fragments, factors, strict=True):
                presence = Presence.PRESENT if x else None
                decision = Decision(f.id, coder, x, presence, None, Status.CONFIRMED, "")
                project.record_decision(decision)
    specs = [f"{path}@anna", f"{path}@ben", f"{path}@model"]
    result = run(*specs, "--format", "json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["coders"] == ["anna", "ben", "model"] and data["units"] == len(SENTENCES)
    pairs = {tuple(p["coders"]): p for p in data["pairwise"]}
    assert pairs[("ben", "model")]["percent"]["value"] == 1.0
    failed(run(path, f"{path}@anna"), "name a coder in the project")
    failed(run(f"{path}@anna", f"{path}@anan"), "no such coder 'anan' (coders: anna, ben)")
    with store.Project.open(path) as project:  # only rejections: known, but nothing coded
        project.record_decision(
            Decision(fragments[0].id, "cleo", None, None, None, Status.REJECTED, "")
        )
    failed(run(f"{path}@anna", f"{path}@cleo"), "coder 'cleo' has nothing coded")


# --- published examples, as a spreadsheet or another tool gives them: ids, no offsets ---------

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), the example with four
# coders, twelve units and missing values: nominal alpha 0.743.
KRIPPENDORFF = {
    "a": "1 2 3 3 2 1 4 1 2 . . .",
    "b": "1 2 3 3 2 2 4 1 2 5 . 3",
    "c": ". 3 3 3 2 3 4 2 2 5 1 .",
    "d": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def offsetless(path: Path, coder: str, values: list[str | None]) -> Path:
    """One record per coded unit: id, report, text and the code, no start or end."""
    lines = [
        json.dumps(
            {
                "id": f"eenheid-{unit}",
                "report": "voorbeeld",
                "text": f"Eenheid {unit} van het voorbeeld.",
                "factor": value,
                "coder": coder,
            }
        )
        for unit, value in enumerate(values, start=1)
        if value != "."
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_krippendorff_published_example_from_offsetless_files(tmp_path: Path) -> None:
    codes = {str(n): code for n, code in enumerate(CODEBOOK.ids[:5], start=1)}
    files = [
        offsetless(tmp_path / f"{coder}.jsonl", coder, [codes.get(v, v) for v in row.split()])
        for coder, row in KRIPPENDORFF.items()
    ]
    result = run(*files, "--format", "json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["matched_by"] == "fragment id" and data["coders"] == ["a", "b", "c", "d"]
    assert round(data["overall"]["alpha"]["value"], 3) == 0.743
    assert data["units"] == 11  # unit 12 has one value: not pairable, and counted
    assert data["left_out"] == [
        {
            "coder": "b",
            "count": 1,
            "reason": "fragments no other source coded (their ids are not in the other sources)",
        }
    ]


def test_cohen_kappa_textbook_example_from_offsetless_files(tmp_path: Path) -> None:
    """Two readers say yes or no to 50 items: 20 both yes, 5 only A, 10 only B, 15 both no;
    p_o = 0.70, p_e = 0.50, kappa = 0.40 (the worked example of Cohen's kappa)."""
    pairs = [(A, A)] * 20 + [(A, None)] * 5 + [(None, A)] * 10 + [(None, None)] * 15
    first = offsetless(tmp_path / "lezer-a.jsonl", "lezer_a", [a for a, _ in pairs])
    second = offsetless(tmp_path / "lezer-b.jsonl", "lezer_b", [b for _, b in pairs])
    result = run(first, second, "--format", "json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["units"] == 50 and data["left_out"] == []
    assert data["overall"]["percent"]["value"] == pytest.approx(0.70)
    assert data["overall"]["cohen"]["value"] == pytest.approx(0.40)
    header = ["id", "factor", "presence"]  # the same as plain lists: ids and codes only
    lists = [
        write_csv(
            tmp_path / f"{name}.csv", header, [[f"eenheid-{n}", x or "", ""] for n, x in rows]
        )
        for name, rows in (
            ("a", enumerate((a for a, _ in pairs), start=1)),
            ("b", enumerate((b for _, b in pairs), start=1)),
        )
    ]
    plain = json.loads(run(*lists, "--format", "json", "--bootstrap", "0").stdout)
    assert plain["units"] == 50 and plain["overall"]["cohen"]["value"] == pytest.approx(0.40)
