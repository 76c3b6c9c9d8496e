"""Containers: the record, its state machine, the on-disk store and names."""
