"""A subscriber (here a project) creates a webhook subscription, after a refused address,
sends a test that a local receiver gets, sees the alert of its overdue milestone delivered
in the log, edits the subscription (after a refused repeat interval), and deletes it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from playwright.async_api import Page, expect

from tests.browser.conftest import Portal, shot
from tests.support.platform import serve
from tests.support.waiting import eventually


def receiver(received: list[dict[str, str]]) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        received.append(dict(request.headers) | {"body": (await request.body()).decode()})
        return {}

    return app


async def test_a_subscriber_creates_a_webhook_subscription_and_its_receiver_gets_the_alert(
    portal: Portal, page: Page
) -> None:
    received: list[dict[str, str]] = []
    async with serve(receiver(received)) as hooks:
        await subscribe_and_watch(portal, page, f"{hooks}/hook", received)


async def subscribe_and_watch(
    portal: Portal, page: Page, hook: str, received: list[dict[str, str]]
) -> None:
    # Its milestone m1 was due on 1 September 2024: at the clock's 1 September 2025 it is
    # overdue, an alert the subscription gets.
    project = await portal.platform.register()
    await portal.platform.known_everywhere(project)
    await portal.sign_in(page, project.token)
    await page.goto(f"{portal.url}/abonnements")
    assert "Aucun abonnement." in (await page.text_content("#subscriptions") or "")

    await page.fill("#f-name", "Alertes du projet")
    await page.select_option("#f-channel", "webhook")
    await page.fill("#f-target", "ftp://example.org/hook")
    await page.click("form[action='/abonnements'] button[type=submit]")
    assert await page.text_content("#e-target") == "Ce format n'est pas reconnu."
    assert await page.input_value("#f-name") == "Alertes du projet"

    await page.fill("#f-target", hook)
    await page.click("form[action='/abonnements'] button[type=submit]")
    main = await page.text_content("main") or ""
    assert "Abonnement « Alertes du projet » créé." in main
    assert hook in (await page.text_content("#subscriptions") or "")
    await shot(page, "subscriptions")

    await page.click("#subscriptions button:has-text('Tester')")
    await expect(page).to_have_title("Livraisons — Alertes du projet — Suivi AMI CMA")
    assert "Test livré." in (await page.text_content("main") or "")
    assert any('"status":"test"' in r["body"].replace(" ", "") for r in received), received
    log = page.url

    async def statuses() -> str:
        await page.goto(log)
        return await page.text_content("#deliveries tbody") or ""

    await eventually(statuses, lambda text: "Jalon" in text, what="the alert is logged")
    assert all("x-cma-signature" in r for r in received)
    await shot(page, "deliveries")

    # Edited on its page: a repeat interval out of bounds is named beside its field and
    # nothing changes; corrected, the change is saved through alerting's PATCH.
    await page.fill("#f-name", "Alertes du projet, urgentes")
    await page.select_option("#f-min_severity", "critical")
    await page.fill("#f-repeat_minutes", "0")
    await page.click("#subscription-edit button[type=submit]")
    assert "nombre entier de minutes" in (await page.text_content("#e-repeat_minutes") or "")
    assert await page.input_value("#f-name") == "Alertes du projet, urgentes"
    await page.fill("#f-repeat_minutes", "90")
    await page.click("#subscription-edit button[type=submit]")
    assert "Abonnement « Alertes du projet, urgentes » modifié." in (
        await page.text_content("main") or ""
    )
    assert await page.input_value("#f-repeat_minutes") == "90"
    assert await page.input_value("#f-min_severity") == "critical"
    assert await page.input_value("#f-target") == hook
    await shot(page, "subscription-edit")

    await page.goto(f"{portal.url}/abonnements")
    await page.click("#subscriptions button:has-text('Supprimer')")
    assert "Abonnement supprimé" in (await page.text_content("main") or "")
    assert "Aucun abonnement." in (await page.text_content("#subscriptions") or "")
