"""The Daemon facade and its operations, one module per verb."""
