"""One router per area of the Docker Engine API."""
