# targetwatch: collectors, rule evaluation and the /metrics exporter in one image.
# Built by docker-compose.yml; the deployment folder (config/) is mounted at /app/config.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TZ=Asia/Shanghai

WORKDIR /app
COPY pyproject.toml README.md ./
COPY targetwatch ./targetwatch
COPY collectors ./collectors
COPY rules ./rules
COPY exporters ./exporters
COPY dashboards ./dashboards
RUN pip install ".[sources]" \
    && useradd --system --uid 10001 --home-dir /var/lib/targetwatch --create-home targetwatch

USER targetwatch
# The embedded store and the InfluxDB spool live on the targetwatch-data volume.
WORKDIR /var/lib/targetwatch
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/metrics', timeout=4)"
ENTRYPOINT ["targetwatch"]
CMD ["serve", "--config", "/app/config"]
