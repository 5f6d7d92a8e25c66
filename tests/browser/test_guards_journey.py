"""What the portal refuses: a project token on a staff page (a 403 page) or on the bilan
(a 403 page, or a 403 problem to its bearer token), a form posted without its CSRF token
(refused, nothing written), a page without a session (sign-in)."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Portal, shot


async def test_a_project_token_cannot_open_a_staff_page(portal: Portal, page: Page) -> None:
    project = await portal.platform.register()
    await portal.platform.known_everywhere(project)
    await portal.sign_in(page, project.token)
    answer = await page.goto(f"{portal.url}/couverture")
    assert answer is not None and answer.status == 403
    await expect(page).to_have_title("Accès refusé — Suivi AMI CMA")
    await shot(page, "forbidden")


async def test_a_form_without_its_csrf_token_is_refused(portal: Portal, page: Page) -> None:
    await portal.sign_in(page)
    # The browser's own session cookie, but not the form's hidden token (a forged post).
    forged = await page.request.post(
        f"{portal.url}/abonnements",
        form={"name": "forgé", "channel": "webhook", "target": "https://example.org/hook"},
    )
    assert forged.status == 403
    assert "Formulaire refusé" in await forged.text()
    await page.goto(f"{portal.url}/abonnements")
    assert "Aucun abonnement." in (await page.text_content("#subscriptions") or "")


async def test_without_a_session_a_page_leads_to_the_sign_in(portal: Portal, page: Page) -> None:
    await page.goto(f"{portal.url}/projets")
    assert page.url == f"{portal.url}/login"
    await shot(page, "login")
    cookie = next(c for c in await page.context.cookies() if c["name"] == "cma_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


async def test_the_bilan_is_refused_to_a_project_in_a_session_or_with_a_bearer_token(
    portal: Portal, page: Page
) -> None:
    project = await portal.platform.register()
    await portal.platform.known_everywhere(project)
    await portal.sign_in(page, project.token)
    for path in ("/bilan/cloud", "/bilan/cloud.pdf"):
        answer = await page.goto(f"{portal.url}{path}")
        assert answer is not None and answer.status == 403, path
        await expect(page).to_have_title("Accès refusé — Suivi AMI CMA")
    async with httpx.AsyncClient(base_url=portal.url) as script:
        bearer = {"Authorization": f"Bearer {project.token}"}
        refused = await script.get("/bilan/cloud.pdf", headers=bearer)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        unknown = await script.get("/bilan/cloud.md", headers={"Authorization": "Bearer nope"})
        assert unknown.status_code == 401
        anonymous = await script.get("/bilan/cloud.pdf")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
