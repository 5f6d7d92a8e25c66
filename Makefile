# The README's two commands: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lock run demo migrate test lint mutation unit contract component integration e2e battery schemas up down

# Every version comes from requirements.lock (the image installs from it too); `make lock`
# resolves it again after pyproject.toml's dependencies change.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,local]"
	touch $@

# The portal's design system (@gouvfr/dsfr, pinned in services/portal/package-lock.json),
# served by the portal itself; its install script only scaffolds new projects: skipped.
PORTAL_ASSETS := services/portal/node_modules/.package-lock.json
$(PORTAL_ASSETS): services/portal/package.json services/portal/package-lock.json
	npm ci --prefix services/portal --ignore-scripts --no-audit --no-fund --silent
	touch $@

install: $(BIN)/.installed $(PORTAL_ASSETS)

lock: install  ## resolve requirements.lock again from pyproject.toml (dev and local extras included)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra local --python-version 3.11 \
	  --quiet -o requirements.lock

run: install  ## the platform on embedded PostgreSQL and broker (or CMA_DATABASE_URL / CMA_KAFKA_BOOTSTRAP)
	$(BIN)/cma run

demo: install  ## the same, with the document's laureates and plausible reports
	$(BIN)/cma run --demo

migrate: install
	$(BIN)/cma migrate

test: install lint mutation  ## everything CI runs; files spread over 3 workers (the tests mostly wait on I/O)
	$(BIN)/python -m pytest -n 3 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m contracts.generate --check
	$(BIN)/python -m services.command asyncapi --check
	$(BIN)/python -m dashboards.generator --check
	$(BIN)/mypy

# Mutation testing of the pure rules ([tool.mutmut] in pyproject.toml) with the unit tests: a
# score per module, the surviving mutants, and a failure below 95 % killed or on a survivor
# not listed in tests/mutation/equivalent.toml. From scratch each time (mutants/ is a copy).
mutation: install
	rm -rf mutants && mkdir mutants
	$(BIN)/mutmut run > mutants/run.log 2>&1 || { tail -n 40 mutants/run.log; exit 1; }
	$(BIN)/python -m tests.mutation.score

unit contract component integration e2e: install
	$(BIN)/python -m pytest tests/$@

battery: install  ## the fault battery alone (processes killed, database and broker stopped)
	$(BIN)/python -m pytest tests/battery

schemas: install  ## regenerate the checked-in JSON Schemas and AsyncAPI documents
	$(BIN)/python -m contracts.generate
	$(BIN)/python -m services.command asyncapi

up:  ## the production-shaped stack (needs Docker and a .env: cp .env.example .env, set its secrets)
	@test -f .env || { echo "no .env: cp .env.example .env, then set its secrets" >&2; exit 1; }
	docker compose up -d --build
	@echo "intake :8001  indicator :8002  milestone :8003  alerting :8004"
	@echo "Grafana http://localhost:3000 (admin / GRAFANA_ADMIN_PASSWORD)  Prometheus http://localhost:9090"

down:  ## stops the stack; its volumes stay (docker compose down -v deletes the data)
	docker compose down
