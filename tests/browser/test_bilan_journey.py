"""The bilan from the portal: a staff member opens a sheet's bilan from the overview and
downloads its PDF; a script downloads it with a staff bearer token."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from playwright.async_api import Page, expect
from pypdf import PdfReader

from contracts.catalog import load_catalog
from tests.browser.conftest import Portal, shot
from tests.support.platform import STAFF_TOKEN


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


async def test_staff_opens_a_sheets_bilan_and_downloads_its_pdf(
    portal: Portal, page: Page, tmp_path: Path
) -> None:
    await portal.platform.known_everywhere(await portal.platform.register())
    name = load_catalog().sheets["cloud"].name
    await portal.sign_in(page)
    await page.click("#fiche-cloud a:has-text('Bilan de la fiche')")
    await expect(page).to_have_title(f"Bilan — {name} — Suivi AMI CMA")
    await shot(page, "bilan")

    async with page.expect_download() as downloading:
        await page.click("#bilan-pdf")
    download = await downloading.value
    assert download.suggested_filename.startswith("bilan-cloud-")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert f"Bilan de la fiche « {name} »" in text, text[:500]
    assert "La Tête Dans Le Nuage" in text

    # The sheet page leads there too.
    await page.goto(f"{portal.url}/fiches/cloud")
    await page.click("#sheet-bilan")
    await expect(page).to_have_title(f"Bilan — {name} — Suivi AMI CMA")


async def test_a_script_downloads_the_bilan_with_a_staff_bearer_token(portal: Portal) -> None:
    async with httpx.AsyncClient(base_url=portal.url, timeout=60) as script:
        staff = {"Authorization": f"Bearer {STAFF_TOKEN}"}
        answer = await script.get("/bilan/cloud.md", headers=staff)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/markdown")
        assert "attachment" in answer.headers["content-disposition"]
        assert "Bilan de la fiche" in answer.text
        unknown = await script.get("/bilan/nulle-part.pdf", headers=staff)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
