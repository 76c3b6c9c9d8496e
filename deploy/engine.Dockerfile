# The engine image for docker-compose.yml: Debian with runc, busybox-static and the workspace.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends runc busybox-static iproute2 python3 python3-venv ca-certificates curl make \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install uv
WORKDIR /opt/wharf
COPY . .
RUN /opt/uv/bin/uv sync --frozen --no-dev --python python3
ENTRYPOINT ["/opt/wharf/.venv/bin/wharf-engine", "--data-root", "/var/lib/wharf", "-H", "unix:///run/wharf/engine.sock"]
