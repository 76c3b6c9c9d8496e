"""HTTP only: the Docker Engine API over FastAPI, plus the raw hijack for attach."""
