"""The portal in a real Chromium (Debian's `chromium`, driven by Playwright), over the four
services on a real PostgreSQL and broker. Each journey saves its pages as 1280×800
screenshots in docs/screenshots/ (the README shows two)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.runtime import registry
from tests.conftest import require_tool
from tests.support.clock import FakeClock
from tests.support.platform import (
    STAFF_TOKEN,
    EmbeddedKafka,
    Platform,
    running_platform,
    serve,
    settings_for_tests,
)

pytestmark = pytest.mark.integration

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class Portal:
    url: str
    platform: Platform

    async def sign_in(self, page: Page, token: str = STAFF_TOKEN) -> None:
        await page.goto(f"{self.url}/login")
        await page.fill("#token", token)
        await page.click("main button[type=submit]")


async def tick(page: Page, label: str) -> None:
    """Checks a DSFR checkbox as a person does, by its label (which covers the box)."""
    if not await page.get_by_label(label, exact=True).is_checked():
        await page.locator("label.fr-label", has_text=label).click()


async def shot(page: Page, name: str) -> None:
    """The page as a person sees it on arrival, 1280×800."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("document.fonts.ready")
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    chromium = require_tool("chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def portal(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> AsyncIterator[Portal]:
    """The four services and the portal, in this process, sharing the fake clock."""
    settings = settings_for_tests(
        clean_database, kafka.bootstrap, webhook_allow_private=True, alert_group_wait_seconds=0
    )
    async with running_platform(settings, clock, registry.NAMES) as platform:
        urls = {name: platform.url(name) for name in registry.NAMES}
        portal_settings = settings.model_copy(update={"service_urls": urls})
        async with serve(registry.PORTAL.create_app(portal_settings, clock)) as url:
            yield Portal(url, platform)
