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
# never root at run time (docs/decisions/0092-serve-drops-root.md): an unprivileged system account that
# may write only the vendored web assets (fetched by `xiangmap setup`) and its temporary files
RUN useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin xiangmap \
 && static="$(python -c 'import service.assets as a; print(a.STATIC_DIR)')" \
 && mkdir -p "$static/vendor" && chown -R xiangmap:xiangmap "$static"
USER xiangmap:xiangmap
ENV XIANGMAP_HOST=0.0.0.0 XIANGMAP_PORT=8000
EXPOSE 8000
# setup migrates as the owner (DATABASE_URL); serve connects as the app role (XIANGMAP_APP_DATABASE_URL)
CMD ["sh", "-c", "xiangmap setup && xiangmap serve"]
