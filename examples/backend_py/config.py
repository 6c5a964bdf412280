"""Configuration from environment variables, validated once at start-up.

Every app in examples/ reads the same variables with the same defaults, so one
shell line can point any of them at the same Blink-Store and origin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A variable is set to a value the app cannot use."""


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: expected {low}..{high}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


def _token(name: str) -> bytes | None:
    """Reads the token file as blink-store does: trailing whitespace (a final newline) is stripped."""
    path = os.environ.get(name, "").strip()
    if not path:
        return None
    try:
        token = Path(path).read_bytes().rstrip()
    except OSError as exc:
        raise ConfigError(f"{name}={path!r}: {exc.strerror}") from None
    if not token:
        raise ConfigError(f"{name}={path!r}: the file is empty")
    return token


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    #: "host:port" or "unix:/path", the address syntax of blink_client.
    blink_address: str
    blink_token: bytes | None
    cache_enabled: bool
    cache_ttl_ms: int
    cache_ttl_jitter_percent: int
    #: Bound on one cache call, connecting included: the most a request waits on a sick cache.
    cache_timeout_ms: int
    breaker_failures: int
    breaker_cooldown_ms: int
    origin_path: str
    origin_delay_ms: int
    log_level: str

    @classmethod
    def from_env(cls) -> Config:
        unix_socket = os.environ.get("BLINK_UNIX_SOCKET", "").strip()
        tcp = os.environ.get("BLINK_TCP", "").strip() or "127.0.0.1:25465"
        log_level = os.environ.get("LOG_LEVEL", "info").strip().upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR"):
            raise ConfigError(f"LOG_LEVEL={log_level!r}: expected debug, info, warn or error")
        return cls(
            host=os.environ.get("HOST", "").strip() or "127.0.0.1",
            port=_int("PORT", 8080, 0, 65535),
            blink_address=f"unix:{unix_socket}" if unix_socket else tcp,
            blink_token=_token("BLINK_AUTH_TOKEN_FILE"),
            cache_enabled=_flag("CACHE_ENABLED", default=True),
            cache_ttl_ms=_int("CACHE_TTL_MS", 60_000, 1, 86_400_000),
            cache_ttl_jitter_percent=_int("CACHE_TTL_JITTER_PERCENT", 10, 0, 100),
            cache_timeout_ms=_int("CACHE_TIMEOUT_MS", 100, 1, 60_000),
            breaker_failures=_int("BREAKER_FAILURES", 5, 1, 1_000),
            breaker_cooldown_ms=_int("BREAKER_COOLDOWN_MS", 2_000, 1, 3_600_000),
            origin_path=os.environ.get("ORIGIN_PATH", "").strip() or "items.db",
            origin_delay_ms=_int("ORIGIN_DELAY_MS", 20, 0, 60_000),
            log_level="WARNING" if log_level == "WARN" else log_level,
        )
