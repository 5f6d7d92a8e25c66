"""The bilan of the AI sheet with the document's eleven laureates registered and no report
states what the document does: 32 340 and 86 945 trained committed (119 285 in all), the 11
regions left uncovered, and 34 % of the population (34,42 % with the decimals); in Markdown,
in HTML, and in the text of the PDF."""

from __future__ import annotations

import html
import io
import re

import pytest
from pypdf import PdfReader

from contracts.catalog import load_catalog
from services.bilan import BilanFormat, bilan_document
from services.launcher.demo import project_body
from services.runtime.registry import NAMES
from tests.support.platform import STAFF, Platform, Project

pytestmark = pytest.mark.integration

UNCOVERED = (
    "Hauts-de-France",
    "Grand Est",
    "Bourgogne-Franche-Comté",
    "Pays de la Loire",
    "Centre-Val de Loire",
    "Corse",
    "Guadeloupe",
    "Martinique",
    "Guyane",
    "La Réunion",
    "Mayotte",
)


def text_of(fmt: BilanFormat, content: bytes) -> str:
    """The words a reader sees (no markup, no table rules), spaces of every width as one."""
    if fmt is BilanFormat.PDF:
        raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    elif fmt is BilanFormat.HTML:
        raw = html.unescape(re.sub(r"<[^>]+>", " ", content.decode()))
    else:
        raw = re.sub(r"[|*]|---:?", " ", content.decode())
    return " ".join(raw.split())


async def test_the_ai_bilan_states_the_documents_commitments_and_uncovered_regions(
    platform: Platform,
) -> None:
    await platform.start("alerting")
    catalog = load_catalog()
    laureates = [lo for lo in catalog.laureates if lo.sheet == "ia" and lo.regions]
    assert len(laureates) == 11
    for laureate in laureates:
        r = await platform.intake.post("/v1/projects", json=project_body(laureate), headers=STAFF)
        assert r.status_code == 201, r.text
        await platform.known_everywhere(Project(r.json()["project_id"], r.json()["api_token"]))

    urls = {name: platform.url(name) for name in NAMES}
    token = STAFF["Authorization"].split()[1]
    for fmt in BilanFormat:
        document = await bilan_document(urls, token, "ia", fmt)
        assert document.media_type == fmt.media_type
        text = text_of(fmt, document.content)
        assert "Vague 1 : 7 projets" in text, text[:2000]
        assert "Total vague 1 32 340" in text
        assert "Total vague 2 86 945" in text
        assert "former 119 285 personnes" in text
        assert "11 régions n'ont pas encore bénéficié d'un soutien" in text
        for region in UNCOVERED:
            assert region in text, (fmt, region)
        assert "Elles rassemblent 34 % de la population (34,42 % ;" in text
        if fmt is not BilanFormat.PDF:  # the PDF's narrow columns break words across lines
            row = "EFELIA Côte d'Azur 3IA Côte d'Azur Provence-Alpes-Côte d'Azur 10 500"
            assert row in text
