"""Content-addressed layer store: extracted diffs mounted with overlayfs."""
