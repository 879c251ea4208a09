# xiangmap service image (for users with Docker; the tests do not use it).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
COPY layers ./layers
COPY geodata ./geodata
RUN pip install --no-cache-dir .
ENV XIANGMAP_HOST=0.0.0.0 XIANGMAP_PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "xiangmap setup && xiangmap serve"]
