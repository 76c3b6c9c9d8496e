# The hub, registry and builder image for docker-compose.yml: the workspace on Debian's Python, no dev
# tools (git and ssh for the builder's checkouts).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates curl git openssh-client \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install uv
WORKDIR /opt/wharf
COPY . .
RUN /opt/uv/bin/uv sync --frozen --no-dev --python python3
ENV PATH=/opt/wharf/.venv/bin:$PATH
