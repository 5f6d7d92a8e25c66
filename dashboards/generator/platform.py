"""5. Platform health: services up, events per second, handler latency, consumer lag (an
estimate: no lag metric is exported), dead letters, outbox backlog, notifications."""

from __future__ import annotations

from contracts.topics import DEAD_LETTERS
from dashboards.generator.grafana import (
    NONZERO_BAD,
    NONZERO_WARN,
    Json,
    dashboard,
    override,
    panel,
    query,
    row,
    thresholds,
    value_map,
    zero_while_up,
)
from services.runtime.registry import NAMES, service

SERVICES = f'job=~"{"|".join(NAMES)}"'
UP = value_map({"0": "hors service", "1": "en service"}, {"0": "red", "1": "green"})
RATE = "$__rate_interval"
CONSUMERS = tuple(name for name in NAMES if service(name).consumes)
# Those with an outbox: every producer of events, dead letters aside (sent directly).
RELAYS = tuple(name for name in NAMES if set(service(name).produces) - {DEAD_LETTERS})
PENDING = 'max(cma_alerting_deliveries{status="pending"})'


def _series(title: str, description: str, queries: list[Json], unit: str, **kw: object) -> Json:
    return panel("timeseries", title, description, queries, w=12, h=8, unit=unit, **kw)


def _notifications(counter: str, legend: str) -> Json:
    return query(
        f"sum by (channel) (rate(cma_alerting_notifications_{counter}_total[{RATE}]))",
        f"{{{{channel}}}} : {legend}",
    )


def platform() -> Json:
    panels = [
        row("Services"),
        panel(
            "stat",
            "Services joignables",
            "Prometheus arrive-t-il à lire /metrics de chaque service ?",
            [query(f"up{{{SERVICES}}}", "{{job}}", instant=True)],
            w=12,
            decimals=0,
            steps=thresholds(("red", None), ("green", 1)),
            mappings=[UP],
        ),
        panel(
            "stat",
            "Lettres mortes (24 h)",
            "Événements envoyés sur cma.deadletter.v1 en 24 h : jamais applicables (malformés "
            "ou en échec à chaque tentative). Voir le runbook CmaDeadLettersGrowing.",
            [query(zero_while_up("sum(cma:dead_letters:increase1d)", *CONSUMERS), instant=True)],
            w=4,
            decimals=0,
            steps=NONZERO_BAD,
        ),
        panel(
            "stat",
            "Outbox en attente",
            "Lignes d'outbox pas encore acquittées par Kafka, tous services.",
            [query(zero_while_up("sum(cma:outbox_backlog:max)", *RELAYS), instant=True)],
            w=4,
            decimals=0,
            steps=thresholds(("green", None), ("orange", 100), ("red", 1000)),
        ),
        panel(
            "stat",
            "Notifications en attente",
            "Livraisons enregistrées non encore effectuées (service d'alerte).",
            [query(zero_while_up(PENDING, "alerting"), instant=True)],
            w=4,
            decimals=0,
            steps=NONZERO_WARN,
        ),
        row("Consommation des événements"),
        _series(
            "Événements traités par seconde, par service",
            "Événements lus de Kafka et traités (appliqués, doublons ignorés, lettres mortes).",
            [query("sum by (job) (cma:events:rate1m)", "{{job}}")],
            "ops",
        ),
        _series(
            "Événements par issue",
            "applied : effet appliqué ; duplicate : déjà traité (ignoré) ; dead_lettered : "
            "envoyé en lettre morte.",
            [query("sum by (job, outcome) (cma:events:rate1m)", "{{job}} : {{outcome}}")],
            "ops",
        ),
        _series(
            "Latence des handlers (p99)",
            "Temps pour appliquer un lot d'événements, reprises comprises, 99e centile sur "
            "5 minutes, par groupe de consommateurs.",
            [query("cma:batch_seconds:p99_5m", "{{consumer}}")],
            "s",
        ),
        _series(
            "Retard des consommateurs (messages)",
            "Messages que chaque groupe n'a pas encore commités, par sujet : offset de fin de "
            "chaque partition − offset commité, demandé au broker par le service. Voir le "
            "runbook CmaConsumerLagGrowing.",
            [query("cma:consumer_lag:messages", "{{consumer}} ← {{topic}}")],
            "short",
        ),
        _series(
            "Retard des consommateurs : croissance sur 5 min (estimation)",
            "Messages publiés sur le sujet − messages reçus par le service, sur 5 minutes "
            "(compteurs FastStream), l'entrée de l'alerte CmaConsumerLagGrowing. > 0 "
            "durablement : le service prend du retard.",
            [query("cma:consumer_lag_growth:increase5m", "{{app_name}} ← {{topic}}")],
            "short",
        ),
        _series(
            "Messages en cours de traitement",
            "Messages reçus dont le traitement n'est pas terminé (FastStream).",
            [
                query(
                    "sum by (app_name, handler) (faststream_received_messages_in_process)",
                    "{{app_name}} ← {{handler}}",
                )
            ],
            "short",
        ),
        _series(
            "Échecs transitoires et lettres mortes",
            "Lots rejoués parce que la base ou Kafka était absente (par seconde), et lettres "
            "mortes sur 15 minutes.",
            [
                query("cma:transient_failures:rate5m", "{{consumer}} : reprises/s"),
                query("cma:dead_letters:increase15m", "{{consumer}} : lettres mortes (15 min)"),
            ],
            "short",
            overrides=[
                override(
                    ".*lettres mortes.*",
                    ("color", {"mode": "fixed", "fixedColor": "red"}),
                    regex=True,
                )
            ],
        ),
        row("API HTTP, par route"),
        _series(
            "Requêtes par route et code",
            "Requêtes servies par seconde, par service, modèle de route et code de réponse "
            "(5xx : erreurs ; 413, 415, 429, 503 : refus des limites).",
            [
                query(
                    "sum by (job, route, code) (cma:http_requests:rate5m)",
                    "{{job}} {{route}} : {{code}}",
                )
            ],
            "reqps",
        ),
        _series(
            "Temps de réponse par route (p95)",
            "95e centile du temps entre l'arrivée d'une requête et la fin de sa réponse.",
            [query("max by (job, route) (cma:http_seconds:p95_5m)", "{{job}} {{route}}")],
            "s",
        ),
        row("Publication"),
        _series(
            "Outbox en attente, par service",
            "Lignes écrites dans la transaction métier, pas encore acquittées par Kafka. "
            "Voir le runbook CmaOutboxBacklog.",
            [query("cma:outbox_backlog:max", "{{job}}")],
            "short",
        ),
        _series(
            "Messages publiés par sujet",
            "Messages publiés sur Kafka par seconde (relais d'outbox et lettres mortes), et "
            "échecs de publication.",
            [
                query(
                    f"sum by (destination) (rate(faststream_published_messages_total[{RATE}]))",
                    "{{destination}}",
                ),
                query(
                    "sum by (destination) "
                    f"(rate(faststream_published_messages_exceptions_total[{RATE}]))",
                    "{{destination}} : échecs",
                ),
            ],
            "ops",
        ),
        _series(
            "Rapports acceptés (intake)",
            "Rapports acceptés par seconde, par format ; replayed = rejeu idempotent.",
            [
                query(
                    f"sum by (format, replayed) (rate(cma_intake_reports_accepted_total[{RATE}]))",
                    "{{format}} (rejeu : {{replayed}})",
                )
            ],
            "ops",
        ),
        _series(
            "Évaluation périodique des jalons (p99)",
            "Durée du tick du service jalons (toutes échéances ouvertes).",
            [
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(cma_milestone_tick_seconds_bucket[{RATE}])))",
                    "tick",
                )
            ],
            "s",
        ),
        row("Notifications"),
        _series(
            "Notifications envoyées et en échec",
            "Par canal (webhook, e-mail), par seconde ; les échecs sont rejoués avec backoff, "
            "les abandons ne le sont plus.",
            [
                _notifications("sent", "envoyées"),
                _notifications("failed", "échecs"),
                _notifications("dead_lettered", "abandonnées"),
            ],
            "ops",
        ),
        _series(
            "Délai de livraison (p95)",
            "De la mise en file d'une notification à sa livraison (attente de groupe et "
            "reprises comprises).",
            [
                query(
                    "histogram_quantile(0.95, sum by (channel, le) "
                    f"(rate(cma_alerting_delivery_latency_seconds_bucket[{RATE}])))",
                    "{{channel}}",
                )
            ],
            "s",
        ),
    ]
    return dashboard(
        "cma-platform",
        "CMA : santé de la plateforme",
        "Services, consommation Kafka, outbox, lettres mortes et notifications.",
        panels,
        time_from="now-6h",
        refresh="30s",
    )
