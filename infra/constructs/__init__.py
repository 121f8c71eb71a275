"""One construct per capability: storage, alerting, ingest, scoring, operations."""
