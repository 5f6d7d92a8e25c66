# One image for every process: `cma serve <intake|indicator|milestone|alerting|portal>`, `cma
# migrate`, `cma replay <service>`. docker-compose.yml and deploy/k8s/ choose the command.
#
# Stage 1 builds wheels of this project (`pip wheel .`, the same package `pip install -e .`
# gives the tests) and of its dependencies, at the versions of requirements.lock; stage 2 installs them from those wheels only, with
# no compiler, no build tools, no dev extras.
# The portal's DSFR assets are installed by npm in a stage of their own (from
# services/portal/package-lock.json) and copied into the image: nothing is fetched at run time.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG NODE_IMAGE=node:22.20.0-bookworm-slim

# Only what the portal serves (docs/portal.md): the CSS and scripts, the fonts and icons they
# point to, the favicons; not the 80 MB of per-component sources and source maps.
FROM ${NODE_IMAGE} AS assets
WORKDIR /assets
COPY services/portal/package.json services/portal/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && mkdir -p /dsfr/utility \
    && cd node_modules/@gouvfr/dsfr/dist \
    && cp -r dsfr.min.css dsfr.module.min.js dsfr.nomodule.min.js fonts icons favicon /dsfr/ \
    && cp -r utility/icons /dsfr/utility/

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
# Where the portal looks for them (services/portal/app.py `DSFR`); the build fails if not.
COPY --from=assets /dsfr /usr/local/lib/python3.11/site-packages/services/portal/node_modules/@gouvfr/dsfr/dist
RUN python -c "import sys, services.portal.app as portal; sys.exit(not portal.DSFR.is_dir())"
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8004
ENTRYPOINT ["cma"]
CMD ["serve", "intake"]
