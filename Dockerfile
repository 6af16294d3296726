# syntax=docker/dockerfile:1
# colloquy in a container (README "Running in a container"). Not built in CI: no container engine
# runs there; the entrypoint script is tested as a plain process (tests/packaging).
#
#   docker build -t colloquy .                            # add --build-arg EXTRAS=semantic for
#   docker run -p 3000:3000 -v colloquy-data:/data colloquy   # semantic re-ranking (~180 MiB)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# The locked runtime set only (no dev group): dependencies first, so that a code change reuses
# this layer; then the project itself, installed as a package (not editable), so the runtime
# stage needs no source tree.
ARG EXTRAS=""
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --no-editable ${EXTRAS:+--extra $EXTRAS}
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable ${EXTRAS:+--extra $EXTRAS}

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 colloquy \
    && useradd --system --uid 10001 --gid colloquy --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin colloquy \
    && mkdir /data && chown colloquy:colloquy /data
COPY --from=build /app/.venv /app/.venv
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/colloquy-entrypoint
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CQ_DATA_DIR=/data \
    CQ_HOST=0.0.0.0 \
    CQ_PORT=3000
USER colloquy
VOLUME ["/data"]
EXPOSE 3000
# Readiness, not liveness: unhealthy while the database is unreachable (GET /api/v1/ready).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["colloquy-entrypoint", "healthcheck"]
ENTRYPOINT ["colloquy-entrypoint"]
CMD ["serve"]
