# Small production image: dependencies in their own layer, static files collected,
# a non-root user, daphne (HTTP + websockets) as the entry point.
#   docker build -t dispatch .
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -e DEBUG=0 -p 8000:8000 dispatch          # web
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -e DEBUG=0 dispatch python manage.py qcluster   # worker
#   docker run ... dispatch python manage.py migrate_platform                                   # on deploy
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings DEBUG=0 PORT=8000
RUN useradd --create-home --uid 10001 dispatch
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=dispatch:dispatch . .
# collectstatic needs settings but no database: a throwaway URL and key keep it offline.
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=collectstatic-only \
    python manage.py collectstatic --noinput -v0
USER dispatch
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"
CMD ["sh", "-c", "daphne -b 0.0.0.0 -p ${PORT} config.asgi:application"]
