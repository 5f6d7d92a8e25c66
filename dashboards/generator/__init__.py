"""Writes the Grafana dashboards (`dashboards/*.json`) and the region-location recording rules
(`deploy/prometheus/rules/regions.yml`) from Python, so every panel shares one datasource uid,
one layout, the catalog's names and coordinates, and the same units and thresholds.

    python -m dashboards.generator          # rewrite the files
    python -m dashboards.generator --check  # exit 1 when a checked-in file is out of date
"""
