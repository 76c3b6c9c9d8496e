"""Volumes: the local driver's store and the parsing of -v / --volumes-from mount specs."""
