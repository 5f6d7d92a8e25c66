"""Programme office: a staff member registers a project and sees it on the overview, and the
coverage map changes."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.conftest import Portal, shot, tick
from tests.support.waiting import eventually


async def region_coverage(page: Page, url: str, region: str) -> str | None:
    await page.goto(f"{url}/couverture?fiche=ia")
    return await page.get_attribute(f"#coverage-table tr[data-region='{region}']", "data-coverage")


async def test_staff_registers_a_project_and_sees_the_overview_and_the_map_change(
    portal: Portal, page: Page
) -> None:
    await portal.sign_in(page)
    assert await page.title() == "Tableau de bord — Suivi AMI CMA"
    assert await page.text_content("#count-projects") == "0"
    assert await region_coverage(page, portal.url, "53") == "uncovered"

    await page.goto(f"{portal.url}/projets/nouveau")
    await page.select_option("#f-sheet", "ia")
    await page.fill("#f-lead", "Université de Rennes")
    await page.fill("#f-wave", "1")
    await tick(page, "Bretagne")
    await page.fill("#f-start_date", "2024-01-01")
    await page.fill("#f-end_date", "2027-12-31")
    await page.fill("#f-trained", "1 200")
    await page.fill("#f-milestone_title", "Formations ouvertes")
    await page.fill("#f-milestone_due", "2026-01-15")
    await page.click("main button[type=submit]")
    # The name was left out: the form comes back with the error beside the field.
    assert await page.is_visible("#e-name")
    assert await page.input_value("#f-lead") == "Université de Rennes"
    await shot(page, "register-form-errors")

    await page.fill("#f-name", "IA en Bretagne")
    await tick(page, "Bretagne")
    await page.click("main button[type=submit]")
    assert await page.title() == "Projet enregistré — Suivi AMI CMA"
    assert (await page.text_content("#project-token") or "").startswith("cmap_")

    await eventually(
        lambda: region_coverage(page, portal.url, "53"), "funded", what="Bretagne is funded"
    )
    await shot(page, "coverage")

    async def projects_on_overview() -> str | None:
        await page.goto(portal.url)
        return await page.text_content("#count-projects")

    await eventually(projects_on_overview, "1", what="the overview counts the project")
    assert "1 projet(s)" in (await page.text_content("#fiche-ia") or "")
    await shot(page, "overview")

    await page.goto(f"{portal.url}/projets?fiche=ia")
    await shot(page, "projects")
    await page.click("#projects-table a:has-text('IA en Bretagne')")
    assert await page.text_content("#project-status") == "en cours"
    await shot(page, "project-staff")
