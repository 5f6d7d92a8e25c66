"""A funded project: downloads its template, uploads a workbook with an error, sees the row
named, fills the template, reads the dry run, confirms and sees its progress move; revises
it with a CSV; marks a milestone as met."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Portal, shot
from tests.support.spreadsheets import WIDE, XLSX, fill, workbook
from tests.support.waiting import eventually

# Row 3 names Île-de-France, a region the project did not declare.
WRONG = workbook([WIDE, ["84", "", "bac+5", 40, None, None], ["11", "", "bac+5", 25, None, None]])
REVISED = b"kind,level,region,sex,audience,count\ntrained,bac+5,84,F,,40\ntrained,bac+5,84,M,,30\n"


async def upload(page: Page, url: str, content: bytes, name: str, mime: str) -> None:
    """Step 1: the semester and the file; the portal answers the dry run (or the errors)."""
    await page.goto(f"{url}/mon-projet/rapports/nouveau")
    await page.select_option("#f-period", "2025-S1")
    file = {"name": name, "mimeType": mime, "buffer": content}
    await page.set_input_files("#file", files=[file])
    await page.click("main button[type=submit]")


async def test_a_project_fixes_the_row_named_and_sees_its_progress_move(
    portal: Portal, page: Page
) -> None:
    project = await portal.platform.register()
    await portal.platform.known_everywhere(project)
    await portal.sign_in(page, project.token)
    await expect(page).to_have_title("La Tête Dans Le Nuage — Suivi AMI CMA")
    assert await page.text_content("#total-trained") == "0"

    await upload(page, portal.url, WRONG, "rapport.xlsx", XLSX)
    errors = await page.text_content("#row-errors") or ""
    assert "Ligne 3 : La région 11 n'est pas une région déclarée du projet." in errors
    await shot(page, "upload-errors")

    # The template of the semester, filled in as a spreadsheet would.
    template = await page.request.get(f"{portal.url}/mon-projet/modele?format=xlsx&periode=2025-S1")
    assert template.ok and template.headers["content-type"] == XLSX
    filled = fill(await template.body(), {("84", "bac+5"): (65, None, None)})
    await upload(page, portal.url, filled, "rapport-2025-S1.xlsx", XLSX)
    await expect(page).to_have_title("Vérifier le rapport — Suivi AMI CMA")
    totals = await page.text_content("#dry-run-totals tbody") or ""
    assert "formés" in totals and "+65" in totals, totals
    await shot(page, "upload-dry-run")
    history = await page.request.get(f"{portal.url}/mon-projet/rapports")
    assert "révision 1" not in await history.text()  # the dry run stored nothing

    await page.click("#confirm-report")
    await expect(page).to_have_title("Rapports — Suivi AMI CMA")
    assert "révision 1, 1 cellules" in (await page.text_content("main") or "")
    await shot(page, "report-revisions")

    async def trained() -> str | None:
        await page.goto(f"{portal.url}/mon-projet")
        return await page.text_content("#total-trained")

    await eventually(trained, "65", what="the project's page counts the report")
    await shot(page, "project")

    # A second revision of the semester: the history says what changed.
    await upload(page, portal.url, REVISED, "rapport.csv", "text/csv")
    await page.click("#confirm-report")
    await page.click("#revisions a:has-text('révision 2')")
    changes = await page.text_content("#changes tbody") or ""
    assert "Île-de-France" not in changes and "65" in changes and "30" in changes
    await shot(page, "revision")
    await eventually(trained, "70", what="the new revision replaces the first")

    # The programme office reviews it: the queue shows the difference; returning needs a why.
    await page.click("form[action='/logout'] button")
    await portal.sign_in(page)
    await page.goto(f"{portal.url}/revues")
    row = await page.text_content("#reviews tbody") or ""
    assert "La Tête Dans Le Nuage" in row and "+5 formés" in row
    await shot(page, "reviews")
    await page.fill("#c-1", "Précisez le public des formés.")
    await page.click("#reviews button:has-text('Renvoyer')")
    assert "Rapport renvoyé au projet." in (await page.text_content("main") or "")


async def test_a_project_marks_a_milestone_as_met(portal: Portal, page: Page) -> None:
    project = await portal.platform.register()
    await portal.platform.known_everywhere(project)
    await portal.sign_in(page, project.token)

    async def form_shown() -> int:  # the milestone service applies the declaration in time
        await page.goto(f"{portal.url}/mon-projet/jalons")
        return await page.locator("#d-m1").count()

    await eventually(form_shown, 1, what="milestone m1 is listed with its form")
    await page.fill("#d-m1", "2024-08-20")
    await page.fill("#e-m1", "https://example.org/ouverture")
    await page.click("form.portal-complete button[type=submit]")
    assert "Jalon marqué comme atteint." in (await page.text_content("main") or "")

    async def milestones() -> str:
        await page.goto(f"{portal.url}/mon-projet/jalons")
        return await page.text_content("#milestones tbody") or ""

    await eventually(milestones, lambda text: "Atteint le 20 août 2024" in text)
    await shot(page, "milestones")
