"""Pydantic shapes of the JSON API (``/api/v1``): what requests carry and responses return.

Request bodies (:class:`~.common.Input`) refuse unknown fields and wrong types, so a typo in a
script is a 400 instead of a silent no-op; responses are built from the database rows by the
``of`` constructors.
"""
