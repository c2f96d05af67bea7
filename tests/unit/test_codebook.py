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


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    rows = [i for i, row in enumerate(text.splitlines(), 1) if needle in row]
    return rows[occurrence - 1]


def test_duplicate_yaml_key_is_refused_at_its_line():
    text = codebook_yaml(3).replace("  name: Code 1\n", "  name: Code 1\n  name: Code een\n")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "mine.yaml")
    message = str(info.value)
    first, second = line_of(text, "name: Code 1"), line_of(text, "name: Code een")
    assert message == (
        f"mine.yaml:{second}: key 'name' appears twice in one mapping (first at line {first}): "
        "keep one of them"
    )
    top = codebook_yaml(3).replace("id: eigen\n", "id: eigen\nid: ander\n", 1)
    with pytest.raises(CodebookError, match=r"mine\.yaml:2: key 'id' appears twice"):
        parse_codebook(top, "mine.yaml")


def test_yaml_merge_keys_may_be_overridden():
    text = codebook_yaml(2).replace(
        "  presence:\n    present: er is\n    absent: er is niet\n",
        "  presence: &p\n    present: er is\n    absent: er is niet\n",
        1,
    )
    text = text.replace(
        "  presence:\n    present: er is\n    absent: er is niet\n",
        "  presence:\n    <<: *p\n    absent: er is geen\n",
    )
    codebook = parse_codebook(text)
    assert codebook.codes[1].presence.absent == "er is geen"


def test_duplicate_code_id_is_reported_at_the_second_id():
    text = codebook_yaml(3).replace("code_2", "code_0")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "mine.yaml")
    first, second = line_of(text, "id: code_0"), line_of(text, "id: code_0", 2)
    assert str(info.value).startswith(f"mine.yaml:{second}: field codes[2].id: code id 'code_0'")
    assert f"first at line {first}" in str(info.value)


def test_every_problem_is_listed_with_its_line():
    text = (
        codebook_yaml(3)
        .replace("code_2", "code_0")
        .replace("Definitie 0", "")
        .replace("  name: Code 1\n", "  name: Code 1\n  kleur: rood\n")
    )
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "mine.yaml")
    head, *rows = str(info.value).splitlines()
    assert head == "mine.yaml: 3 problems"
    assert rows == [
        f"mine.yaml:{line_of(text, 'definition:')}: field codes[0].definition: "
        "Input should be a valid string",
        f"mine.yaml:{line_of(text, 'kleur')}: field codes[1].kleur: "
        "unknown key (remove it or check its spelling)",
        f"mine.yaml:{line_of(text, 'id: code_0', 2)}: field codes[2].id: code id 'code_0' "
        f"appears twice (first at line {line_of(text, 'id: code_0')}): give each code its own id",
    ]
    assert "more problems" not in str(info.value)


def test_unquoted_colour_gets_a_quoting_hint():
    text = DEFAULT.read_text(encoding="utf-8").replace('colour: "#911eb4"', "colour: #911eb4")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "mine.yaml")
    line = line_of(text, "colour: #911eb4")
    assert str(info.value).startswith(f"mine.yaml:{line}: field codes[4].colour: ")
    assert str(info.value).endswith("quote the colour: colour: '#911eb4')")
