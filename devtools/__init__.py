"""Development tools: the demo data (`manage.py seed_demo`, `--scale` for benchmarks) and synthetic
NHS numbers. Installed under local and test settings only, never in production; the hub's own
packages never import it (the forbidden contract in pyproject.toml)."""
