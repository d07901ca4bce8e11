# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target rasa    -t solarprime/rasa .     (Rasa server, model baked in)
#   docker build --target actions -t solarprime/actions .  (Rasa SDK action server)

FROM python:3.10.13-slim-bookworm AS python
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install "pip==24.0" && pip install -r requirements.txt -c constraints.txt
RUN useradd --create-home --uid 1001 app

# Training runs at build time so the server image starts with its model.
FROM python AS train
COPY config.yml domain.yml ./
COPY data ./data
# The NLU pipeline's custom component reads text with the shared parsers of sdr/.
COPY components ./components
COPY sdr ./sdr
RUN rasa train --fixed-model-name current --out /app/models

FROM python AS rasa
# Each image copies only the packages its process imports (layers: observability <- sdr <-
# whatsapp, crm <- connectors, actions, review, components; tests/unit/test_layers.py keeps it so).
COPY components ./components
COPY connectors ./connectors
COPY whatsapp ./whatsapp
COPY crm ./crm
COPY meetings ./meetings
COPY sdr ./sdr
COPY observability ./observability
# The review UI (docker compose service `review`) runs from this image too.
COPY review ./review
COPY endpoints.yml credentials.yml ./
COPY --from=train /app/models/current.tar.gz ./models/current.tar.gz
ENV ACTION_SERVER_URL=http://actions:5055/webhook \
    REDIS_HOST=redis REDIS_PORT=6379 REDIS_DB=0 REDIS_PASSWORD= REDIS_KEY_PREFIX=aisdr \
    LOG_FORMAT=json
# Worker processes of the Rasa server (Rasa's own variable; needs the Redis lock store).
ENV SANIC_WORKERS=2
# Sanic's access log, whose lines Rasa discards anyway at the default
# LOG_LEVEL_LIBRARIES; building them cost ~12% of every webhook.
ENV SANIC_ACCESS_LOG=false
USER app
EXPOSE 5005
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:5005/')"
CMD rasa run --enable-api --auth-token "${RASA_AUTH_TOKEN:?set RASA_AUTH_TOKEN}" \
    --model models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml --port 5005

FROM python AS actions
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-por \
 && rm -rf /var/lib/apt/lists/*
# The action server reads media through the WhatsApp package's Redis store and Evolution client,
# and publishes lead events to the CRM outbox (crm/).
COPY actions ./actions
COPY whatsapp ./whatsapp
COPY crm ./crm
COPY meetings ./meetings
COPY sdr ./sdr
COPY observability ./observability
# The facts the knowledge base's answers quote (COMPANY_FACTS_FILE may point at a mounted copy).
COPY company_facts.yml ./
ENV LOG_FORMAT=json
USER app
EXPOSE 5055
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:5055/health')"
CMD ["python", "-m", "actions.server", "--port", "5055"]
