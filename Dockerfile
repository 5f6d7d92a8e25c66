# One image for every service: `cma serve <intake|indicator|milestone|alerting>`, `cma migrate`,
# `cma replay <service>`. docker-compose.yml and deploy/k8s/ choose the command.
#
# Stage 1 builds wheels of this project (`pip wheel .`, the same package `pip install -e .`
# gives the tests) and of its dependencies, at the versions of requirements.lock; stage 2 installs them from those wheels only, with
# no compiler, no build tools, no dev extras.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml requirements.lock ./
COPY contracts ./contracts
COPY services ./services
RUN pip wheel --constraint requirements.lock --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CMA_ENVIRONMENT=production CMA_HTTP_HOST=0.0.0.0
# Pango and a font: WeasyPrint draws the bilan's PDF (`cma bilan`, the portal's /bilan).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels cma-monitoring \
    && groupadd --system --gid 10001 cma \
    && useradd --system --uid 10001 --gid cma --no-create-home --home-dir /nonexistent cma
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8001 8002 8003 8004
ENTRYPOINT ["cma"]
CMD ["serve", "intake"]
