"""Programme office: over the demo's laureates, a staff member registers a project and sees
it on the overview, and the coverage map changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page, expect

from services.launcher.demo import post_demo
from tests.browser.conftest import Portal, shot, tick
from tests.support.platform import STAFF_TOKEN
from tests.support.waiting import eventually


async def region_coverage(page: Page, url: str, region: str) -> str | None:
    await page.goto(f"{url}/couverture?fiche=ia")
    return await page.get_attribute(f"#coverage-table tr[data-region='{region}']", "data-coverage")


async def projects_on_overview(page: Page, url: str) -> str | None:
    await page.goto(url)
    return await page.text_content("#count-projects")


async def test_staff_registers_a_project_and_sees_the_overview_and_the_map_change(
    portal: Portal, page: Page, tmp_path: Path
) -> None:
    urls = (portal.platform.url("intake"), portal.platform.url("indicator"))
    alerting = portal.platform.url("alerting")
    await asyncio.to_thread(post_demo, *urls, STAFF_TOKEN, tmp_path, alerting_url=alerting)
    await portal.sign_in(page)
    await expect(page).to_have_title("Tableau de bord — Suivi AMI CMA")
    await eventually(
        lambda: projects_on_overview(page, portal.url), "14", within=120, what="the demo"
    )
    assert await region_coverage(page, portal.url, "27") == "uncovered"

    await page.goto(f"{portal.url}/projets/nouveau")
    await page.select_option("#f-sheet", "ia")
    await page.fill("#f-lead", "Université de Bourgogne")
    await page.fill("#f-wave", "1")
    await tick(page, "Bourgogne-Franche-Comté")
    await page.fill("#f-start_date", "2024-01-01")
    await page.fill("#f-end_date", "2027-12-31")
    await page.fill("#f-trained", "1 200")
    await page.fill("#f-milestone_title", "Formations ouvertes")
    await page.fill("#f-milestone_due", "2026-01-15")
    await page.click("main button[type=submit]")
    # The name was left out: the form comes back with the error beside the field.
    assert await page.is_visible("#e-name")
    assert await page.input_value("#f-lead") == "Université de Bourgogne"
    await shot(page, "register-form-errors")

    await page.fill("#f-name", "IA en Bourgogne")
    await tick(page, "Bourgogne-Franche-Comté")
    await page.click("main button[type=submit]")
    await expect(page).to_have_title("Projet enregistré — Suivi AMI CMA")
    assert (await page.text_content("#project-token") or "").startswith("cmap_")

    await eventually(
        lambda: region_coverage(page, portal.url, "27"), "funded", what="Bourgogne is funded"
    )
    await shot(page, "coverage")

    counted = await eventually(
        lambda: projects_on_overview(page, portal.url), "15", what="the project is counted"
    )
    assert counted == "15"
    await shot(page, "overview")

    await page.goto(f"{portal.url}/projets?fiche=ia")
    await shot(page, "projects")
    await page.click("#projects-table a:has-text('IA en Bourgogne')")
    assert await page.text_content("#project-status") == "en cours"
    await shot(page, "project-staff")
