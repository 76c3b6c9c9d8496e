"""Container log drivers; json-file is the one Docker clients expect."""
