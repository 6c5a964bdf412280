"""The Python HTTP backend example: FastAPI over SQLite with Blink-Store as its cache.

config (environment) → origin (SQLite, slowed) → cache (Blink-Store + breaker)
→ service (cache-aside, single-flight, invalidation) → api (routes, logs).
"""
