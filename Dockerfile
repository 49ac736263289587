# One image for web, worker and beat (docker-compose.yml picks the command).
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/build_assets.sh scripts/build_assets.sh
RUN bash scripts/build_assets.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=spoc.settings.production SPOC_DATA_DIR=/app/.data
WORKDIR /app
COPY requirements.txt .
# The lock file pins every package with its hashes (CONTRIBUTING.md, "Add or upgrade a dependency").
RUN pip install --no-cache-dir --require-hashes -r requirements.txt && useradd --create-home spoc
COPY . .
COPY --from=assets /app/static/vendor static/vendor
RUN mkdir -p .data && chown -R spoc .data
USER spoc
EXPOSE 8000
CMD ["gunicorn", "spoc.wsgi", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
