"""With CMA_METRICS_TOKEN, /metrics answers only a request that sends it as a bearer token."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.runtime.metrics import metrics_endpoint

TOKEN = "scrape-token-0123456789"


def client(token: str | None) -> TestClient:
    registry = CollectorRegistry()
    Counter("cma_test_total", "A family to show.", registry=registry).inc()
    app = Starlette()
    app.add_route("/metrics", metrics_endpoint(registry, None, token))
    return TestClient(app)


def test_metrics_refuse_a_request_without_the_token() -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        answer = client(TOKEN).get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "cma_test_total" not in answer.text


def test_metrics_answer_the_token_prometheus_sends() -> None:
    answer = client(TOKEN).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and "cma_test_total 1.0" in answer.text


def test_without_a_token_set_metrics_stay_open() -> None:
    assert client(None).get("/metrics").status_code == 200
