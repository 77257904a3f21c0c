"""Framework integration tests; this directory holds their shared helpers (integration_helpers.py)."""
