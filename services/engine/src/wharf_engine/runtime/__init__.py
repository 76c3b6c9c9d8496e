"""The OCI runtime behind a small interface, and the shim that supervises each container."""
