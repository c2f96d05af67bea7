from pathlib import Path

import pytest
import yaml

from autocoder.codebook import load_codebook, parse_codebook
from autocoder.errors import CodebookError

DEFAULT = Path(__file__).resolve().parents[2] / "autocoder" / "codebooks" / "samenwerking.yaml"


def codebook_yaml(n_codes: int) -> str:
    codes = [
        {
            "id": f"code_{i}",
            "name": f"Code {i}",
            "colour": f"#11aa{i % 256:02x}",
            "definition": f"Definitie {i}",
            "indicators": [f"woord{i}"],
            "questions": [i + 1],
            "presence": {"present": "er is", "absent": "er is niet"},
        }
        for i in range(n_codes)
    ]
    data = {
        "id": "eigen",
        "name": "Eigen codeboek",
        "no_code": {"label": "Geen", "description": "Niets"},
        "codes": codes,
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_default_codebook_has_eight_factors_and_priority_questions():
    codebook = load_codebook()
    assert len(codebook.ids) == 8
    assert "wederzijdse_afhankelijkheid" in codebook.ids
    assert codebook.priority_questions == (35, 36)
    assert codebook.question_codes()[30] == "continuiteit"


@pytest.mark.parametrize("n_codes", [5, 30])
def test_other_sizes_validate(n_codes):
    codebook = parse_codebook(codebook_yaml(n_codes))
    assert len(codebook.ids) == n_codes


def test_hash_ignores_layout_but_not_content():
    text = DEFAULT.read_text(encoding="utf-8")
    reformatted = yaml.safe_dump(yaml.safe_load(text), allow_unicode=True, width=200)
    assert parse_codebook(reformatted).hash == load_codebook().hash
    changed = text.replace("elkaar nodig hebben", "elkaar echt nodig hebben")
    assert parse_codebook(changed).hash != load_codebook().hash


def test_unknown_key_names_field_and_line():
    text = DEFAULT.read_text(encoding="utf-8").replace(
        '    colour: "#3cb44b"', '    colour: "#3cb44b"\n    kleur: groen'
    )
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "mine.yaml")
    message = str(info.value)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "kleur" in row)
    assert f"mine.yaml:{line}:" in message
    assert "codes[2].kleur" in message
    assert "unknown key" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("  - id: stabiliteit", "  - id: Stabiliteit", "codes[4].id"),
        ("questions: [30]", "questions: [0]", "codes[5].questions"),
        ('colour: "#911eb4"', 'colour: "purple"', "codes[4].colour"),
    ],
)
def test_invalid_values_name_the_field(old, new, field):
    text = DEFAULT.read_text(encoding="utf-8").replace(old, new)
    with pytest.raises(CodebookError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_codebook(text, "mine.yaml")


def test_duplicate_ids_and_reserved_none_are_refused():
    text = codebook_yaml(3).replace("code_1", "code_0")
    with pytest.raises(CodebookError, match="appears twice"):
        parse_codebook(text)
    with pytest.raises(CodebookError, match="reserved"):
        parse_codebook(codebook_yaml(3).replace("code_2", "none"))


def test_broken_yaml_and_non_mapping(tmp_path):
    with pytest.raises(CodebookError, match=r"x\.yaml:\d+: not valid YAML"):
        parse_codebook("id: [unclosed\n", "x.yaml")
    with pytest.raises(CodebookError, match="YAML mapping"):
        parse_codebook("- just a list\n", "x.yaml")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CodebookError, match="cannot read"):
        load_codebook(missing)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00id")
    with pytest.raises(CodebookError, match="not UTF-8"):
        load_codebook(binary)
