"""What ``agree`` returns: the compared units, what was left out and the figures, as JSON-safe
data, CSV rows and JSONL lines (the HTML page is ``report_agreement``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from autocoder.agreement import Agreement, Stat
from autocoder.records import NO_FACTOR_KEY

STAT_NAMES = {
    "percent": "percent agreement",
    "cohen": "Cohen's kappa",
    "fleiss": "Fleiss' kappa",
    "alpha": "Krippendorff's alpha (nominal)",
    "ac1": "Gwet's AC1",
}
CSV_COLUMNS = ("scope", "statistic", "value", "ci_low", "ci_high", "n", "reason")


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One compared unit: each coder's label (None: not coded) and presence."""

    id: str
    report: str
    start: int | None
    end: int | None
    text: str | None
    question: int | None
    labels: tuple[str | None, ...]
    presence: tuple[str | None, ...]

    def differs(self) -> bool:
        codings = {(lab, p) for lab, p in zip(self.labels, self.presence, strict=True) if lab}
        return len(codings) > 1


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Codings (or units) not compared, and why."""

    coder: str
    count: int
    reason: str


@dataclass
class AgreementReport:
    agreement: Agreement
    sources: dict[str, str]  # coder -> where the codings came from
    codebook: str
    units: list[UnitRow]
    matched_by: str  # "fragment id", "offsets" or "sentence alignment"
    left_out: list[LeftOut] = field(default_factory=list)
    alignment: dict[str, dict[str, int]] = field(default_factory=dict)  # coder -> counts
    warnings: list[str] = field(default_factory=list)

    def disagreements(self) -> list[dict[str, Any]]:
        """Units where the coders differ: id, text, and each coder's code and presence."""
        return [_disagreement(unit, self.agreement.coders) for unit in self.units if unit.differs()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "codebook": self.codebook,
            "matched_by": self.matched_by,
            **self.agreement.to_dict(),
            "disagreements": sum(unit.differs() for unit in self.units),
            "left_out": [asdict(item) for item in self.left_out],
            "alignment": self.alignment,
            "warnings": self.warnings,
        }


def _disagreement(unit: UnitRow, coders: Sequence[str]) -> dict[str, Any]:
    codes = {
        coder: {"factor": None if label == NO_FACTOR_KEY else label, "presence": presence}
        for coder, label, presence in zip(coders, unit.labels, unit.presence, strict=True)
        if label is not None
    }
    return {"id": unit.id, "report": unit.report, "text": unit.text, "codes": codes}


def json_text(report: AgreementReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def csv_text(report: AgreementReport) -> str:
    """One row per scope and statistic."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(stat_rows(report.agreement))
    return buffer.getvalue()


def disagreement_lines(report: AgreementReport) -> list[str]:
    """The disagreements as JSONL lines."""
    return [json.dumps(item, ensure_ascii=False) for item in report.disagreements()]


def stat_rows(agreement: Agreement) -> list[dict[str, Any]]:
    """One CSV row per scope and statistic (overall, per code, presence, coder pairs)."""
    scopes: list[tuple[str, dict[str, Stat]]] = [("overall", agreement.stats)]
    scopes += [(f"code {code.code}", code.stats) for code in agreement.per_code]
    scopes.append(("presence on same code", agreement.presence))
    scopes += [(f"pair {a} / {b}", stats) for (a, b), stats in agreement.pairwise.items()]
    return [
        {"scope": scope, "statistic": name, **stat.to_dict()}
        for scope, stats in scopes
        for name, stat in stats.items()
    ]


def format_stat(stat: Stat) -> str:
    """ "0.731 [0.280, 1.000]", or "not computable (why)"."""
    if stat.value is None:
        return f"not computable ({stat.reason})"
    interval = f" [{stat.ci[0]:.3f}, {stat.ci[1]:.3f}]" if stat.ci else ""
    return f"{stat.value:.3f}{interval}"
