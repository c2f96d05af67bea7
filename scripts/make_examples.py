"""Write the fictional example reports examples/respondent-a.docx and examples/respondent-b.txt.

The region, organisations and people are invented. The output is deterministic (fixed document
properties and zip timestamps), so rerunning the script gives byte-identical files.
examples/respondent-c.md and examples/metadata.csv are plain files kept in the repository.

Usage: python scripts/make_examples.py [--out DIR]   (default: examples/)
"""

from __future__ import annotations

import argparse
import datetime
import io
import zipfile
from pathlib import Path

import docx

ROOT = Path(__file__).resolve().parent.parent
FIXED_TIME = datetime.datetime(2026, 3, 4, 12, 0, 0)
ZIP_TIME = (2026, 3, 4, 12, 0, 0)

# respondent-a.docx: ("h", text) heading, ("facts", rows) table, ("q", text) bold guide
# question, ("li", text) list item, plain strings are paragraphs.
REPORT_A = [
    ("h", "Verslag interview procesregisseur Veiligheidshuis Waterlanden-Oost"),
    (
        "facts",
        [
            ("Datum", "4 maart 2026"),
            ("Plaats en duur", "Veiligheidshuis, Havenkade Brakwijk; circa 60 minuten"),
        ],
    ),
    "Mevrouw Terpstra werkt sinds 2019 als procesregisseur bij het Veiligheidshuis "
    "Waterlanden-Oost. Zij bereidt het casusoverleg huiselijk geweld voor en zit dat overleg "
    "voor. Het interview vond plaats in haar werkkamer; zij had de vragen vooraf ontvangen.",
    ("q", "Vraag 5. Hoe zou u de samenwerking tussen het Veiligheidshuis en Veilig Thuis "
     "omschrijven?"),
    "De samenwerking is de afgelopen twee jaar duidelijk beter geworden. Sinds Veilig Thuis "
    "een vaste medewerker naar het casusoverleg stuurt, hoeven we niet elke week opnieuw uit "
    "te leggen waar een casus over gaat. Ik bel Ruud van de voordeur van Veilig Thuis gewoon "
    "even als ik twijfel of een melding bij ons thuishoort. Dat scheelt veel mailverkeer.",
    "Wel merk ik dat we nog verschillend kijken naar wanneer een zaak zwaar genoeg is voor het "
    "Veiligheidshuis. Veilig Thuis wil soms te snel opschalen, wij soms te laat.",
    ("q", "Vraag 12. Zijn er afspraken over het delen van informatie?"),
    "Er is een convenant, maar in de praktijk weet niet iedereen wat erin staat. Wat we wel "
    "hebben afgesproken:",
    ("li", "Veilig Thuis levert vóór het overleg een korte samenvatting aan, zonder medische "
     "details."),
    ("li", "Na het overleg legt de procesregisseur binnen twee werkdagen vast wie welke actie "
     "uitvoert."),
    ("li", "Twee keer per jaar bespreken we samen een afgesloten casus om ervan te leren."),
    "Die laatste afspraak komt er eerlijk gezegd vaak niet van, omdat de agenda's vol zitten.",
    ("q", "Vraag 35. Wat is volgens u het belangrijkste voor goede samenwerking?"),
    "Vertrouwen, zonder twijfel. Als ik weet dat de collega van Veilig Thuis doet wat ze "
    "toezegt, kan ik een casus loslaten. Dat vertrouwen is er nu grotendeels, maar het hangt "
    "sterk aan personen. Als Ruud vertrekt, beginnen we weer van voren af aan. Ik zou daarom "
    "graag zien dat de afspraken beter op papier komen, zodat ze niet afhangen van wie er "
    "toevallig aan tafel zit.",
]  # fmt: skip

REPORT_B = """\
---
respondent: WO-02
organisation: Veilig Thuis Waterlanden-Oost
role: teamleider
group: management
date: 2026-03-11
---
Gespreksverslag interview teamleider Veilig Thuis Waterlanden-Oost

De respondent is sinds 2021 teamleider van het team Onderzoek bij Veilig Thuis \
Waterlanden-Oost. Daarvoor werkte zij als gedragswetenschapper bij een jeugdzorgaanbieder in \
Ommerdijk. Zij geeft leiding aan veertien medewerkers en vertegenwoordigt Veilig Thuis in de \
stuurgroep van het Veiligheidshuis.

Vraag 5. Hoe verloopt de samenwerking met het Veiligheidshuis?

De respondent geeft aan dat de samenwerking op uitvoerend niveau goed loopt. Haar \
medewerkers zijn geïnteresseerd in wat de politie en de reclassering over een gezin weten, en \
het casusoverleg biedt daarvoor één vaste plek. Zij noemt de coördinatie door de \
procesregisseurs ‘strak en prettig’.

Op bestuurlijk niveau is het beeld volgens haar minder rooskleurig. De stuurgroep komt vier \
keer per jaar bijeen, maar besluiten worden vaak doorgeschoven omdat niet alle partners \
mandaat hebben. De respondent vindt dat frustrerend: ‘Wij zitten er met iemand die kan \
besluiten, anderen moeten eerst terug naar hun eigen organisatie.’

Vraag 18. Zijn er voldoende middelen voor de samenwerking?

Volgens de respondent is tijd het grootste knelpunt. Een medewerker die een casus inbrengt, \
is met voorbereiding en verslag al snel een halve dag kwijt. Die uren zijn niet in de formatie \
opgenomen. Het Veiligheidshuis heeft dit jaar € 40.000 gekregen voor een extra \
procesregisseur, maar voor Veilig Thuis is er geen vergelijkbare regeling.

Vraag 35. Wat is voor u het belangrijkste om de samenwerking goed te laten verlopen?

De respondent noemt heldere afspraken over wie de regie heeft als het belangrijkste. Nu \
gebeurt het nog dat een gezin na het overleg twee regisseurs heeft – één van Veilig Thuis en \
één van het wijkteam – of juist geen enkele. Zij pleit voor één regisseur per gezin, \
vastgelegd in het plan van aanpak. Daarnaast zou zij de evaluatie van de samenwerking willen \
verbeteren: er wordt nu niet bijgehouden of het casusoverleg iets oplevert voor de gezinnen.
"""


def build_docx(blocks: list) -> bytes:
    document = docx.Document()
    for block in blocks:
        kind, value = ("p", block) if isinstance(block, str) else block
        if kind == "h":
            document.add_heading(value, 1)
        elif kind == "q":
            document.add_paragraph().add_run(value).bold = True
        elif kind == "li":
            document.add_paragraph(value, style="List Bullet")
        elif kind == "facts":
            table = document.add_table(rows=len(value), cols=2, style="Table Grid")
            for row, (label, fact) in zip(table.rows, value, strict=True):
                row.cells[0].text, row.cells[1].text = label, fact
        else:
            document.add_paragraph(value)
    props = document.core_properties
    props.author = props.last_modified_by = "autocoder examples"
    props.title = "Fictief voorbeeldverslag"
    props.created = props.modified = props.last_printed = FIXED_TIME
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip_times(buffer.getvalue())


def fixed_zip_times(data: bytes) -> bytes:
    """The same zip with every member stamped ZIP_TIME, so the bytes do not depend on 'now'."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "respondent-a.docx").write_bytes(build_docx(REPORT_A))
    # Windows-1252 with CRLF line endings, as an older Windows editor would save it.
    (args.out / "respondent-b.txt").write_bytes(REPORT_B.replace("\n", "\r\n").encode("cp1252"))
    print(f"wrote respondent-a.docx and respondent-b.txt to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
