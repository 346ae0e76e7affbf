"""Ingestion pipeline: load -> clean -> dedupe -> chunk -> embed/store.

Nothing heavy is imported here; each stage lives in its own module.
"""
