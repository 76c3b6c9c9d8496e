"""Image configs (content-addressed) and the repository:tag index."""
