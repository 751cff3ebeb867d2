# The API and the indexer share this image: `customers serve` / `customers index`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CUSTOMERS_DATA_DIR=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY indexers ./indexers
RUN pip install . \
    && useradd --system --create-home --home-dir /home/customers customers \
    && mkdir -p /data && chown customers:customers /data

USER customers
EXPOSE 9000
CMD ["customers", "serve", "--host", "0.0.0.0"]
