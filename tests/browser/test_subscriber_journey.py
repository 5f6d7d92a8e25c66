"""A subscriber (here a project) creates a webhook subscription, after a refused address,
and opens its delivery log. (Sending a test and deleting wait for alerting's API: see
docs/portal.md, "Awaiting APIs".)"""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.conftest import Portal, shot


async def test_a_subscriber_creates_a_webhook_subscription_and_opens_its_log(
    portal: Portal, page: Page
) -> None:
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

    await page.fill("#f-target", "https://example.org/cma-hook")
    await page.click("form[action='/abonnements'] button[type=submit]")
    main = await page.text_content("main") or ""
    assert "Abonnement « Alertes du projet » créé." in main
    assert "https://example.org/cma-hook" in (await page.text_content("#subscriptions") or "")
    await shot(page, "subscriptions")

    await page.click("#subscriptions a:has-text('Livraisons')")
    assert await page.title() == "Livraisons — Alertes du projet — Suivi AMI CMA"
    assert "Aucune livraison pour l'instant." in (await page.text_content("#deliveries") or "")
    await shot(page, "deliveries")
