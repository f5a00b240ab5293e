# A small production image, one process per container (bin/dispatch):
#   docker build -t dispatch .
#   docker run ... dispatch migrate     # on each deploy, before the new web and workers start
#   docker run ... -p 8000:8000 dispatch web
#   docker run ... dispatch worker      # as many as the queue needs; Q_SCHEDULER=0 with a scheduler
#   docker run ... dispatch scheduler   # one
# with DATABASE_URL, REDIS_URL, SECRET_KEY, PUBLIC_BASE_URL and the rest of README.md's
# configuration.
# compose.yaml runs the whole scaled-out shape.

# -- assets: the dashboard's front-end libraries, pinned in package-lock.json --------------
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# -- build: wheels into a virtualenv, static files collected ------------------------------
FROM python:3.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY requirements.txt .
# pgserver (the embedded PostgreSQL for `make run`) is left out: containers get DATABASE_URL.
RUN grep -v '^pgserver==' requirements.txt > requirements-image.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements-image.txt
COPY . .
COPY --from=assets /assets/node_modules /app/node_modules
# The translations' compiled catalogs (.mo, not committed) from their .po files, with Babel
# (a runtime requirement): no GNU gettext in the image.
RUN for po in locale/*/LC_MESSAGES/*.po; do \
      [ -e "$po" ] || continue; /opt/venv/bin/pybabel -q compile -i "$po" -o "${po%.po}.mo"; \
    done
# collectstatic needs settings but no database: a throwaway URL, key (random, used once,
# never kept) and public address keep it offline (the running containers are given real ones).
RUN DATABASE_URL=postgres://build@localhost/build DEBUG=0 \
    SECRET_KEY="$(/opt/venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    PUBLIC_BASE_URL=http://collectstatic.invalid \
    /opt/venv/bin/python manage.py collectstatic --noinput -v0 \
 && find /app -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /app/tests /app/bench /app/.ci /app/requirements-image.txt

# -- run: the virtualenv and the app, nothing else; a user without privileges ---------------
FROM python:3.12-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings DEBUG=0 PRODUCTION=1 PORT=8000 METRICS_PORT=9100 \
    LOG_FORMAT=json ROADS_DIR=/app/roads
# DejaVu: the parcel labels (routing/services/labels.py) print Latin, Greek and Cyrillic
# names with it; without it they fall back to reportlab's Latin-only font.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin dispatch \
 && mkdir -p /app/media /app/roads && chown dispatch:dispatch /app/media /app/roads
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
USER dispatch
EXPOSE 8000 9100
# web: uvicorn answers /healthz on $PORT; worker and scheduler: /healthz on $METRICS_PORT
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["bin/healthcheck"]
ENTRYPOINT ["bin/dispatch"]
CMD ["web"]
