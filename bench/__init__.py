"""Benchmarks: websocket fan-out against the Python ceiling and the usual peer, ingest, browser."""
