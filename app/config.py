"""Settings, read from the environment in one place.

The API, the indexer, the CLI, the scripts and the tests all build a :class:`Settings` (tests pass
their own). With nothing set, everything runs embedded: SecantusDB started from the data
directory and a tantivy index beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_JWT_SECRET", "Settings", "default_data_dir"]

# Development-only default (32+ bytes, so HS256 keys are not flagged as too short); refused when
# CUSTOMERS_ENV=production. Medusa's own default is "supersecret".
DEFAULT_JWT_SECRET = "supersecret-development-only-do-not-deploy"


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/customers``, i.e. ``~/.local/share/customers`` by default."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "customers"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that run on one machine with nothing set."""

    mongodb_uri: str | None = None  # MONGODB_URI; None = the embedded SecantusDB server
    mongodb_database: str = "customers"  # MONGODB_DATABASE
    elasticsearch_url: str | None = None  # ELASTICSEARCH_URL; None = tantivy in the data dir
    elasticsearch_index: str = "customers"  # ELASTICSEARCH_INDEX: alias prefix
    data_dir: Path = field(default_factory=default_data_dir)  # CUSTOMERS_DATA_DIR
    environment: str = "development"  # CUSTOMERS_ENV: development | production
    jwt_secret: str | None = None  # JWT_SECRET
    admin_cors: tuple[str, ...] = ()  # ADMIN_CORS: comma-separated origins
    store_cors: tuple[str, ...] = ()  # STORE_CORS: comma-separated origins
    log_level: str = "INFO"  # CUSTOMERS_LOG_LEVEL
    indexer_enabled: bool = True  # CUSTOMERS_INDEXER: run the sync indexer inside `serve`
    search_budget_seconds: float = 2.0  # CUSTOMERS_SEARCH_BUDGET: longest a search may take
    search_concurrency: int = 4  # CUSTOMERS_SEARCH_CONCURRENCY: searches at once per process
    rate_limit_auth: str = "30/minute"  # CUSTOMERS_RATE_LIMIT_AUTH: failed auths per client
    rate_limit_register: str = "10/minute"  # CUSTOMERS_RATE_LIMIT_REGISTER: per client address
    metrics_port: int | None = None  # METRICS_PORT: serve /metrics there instead (no auth)
    shutdown_timeout: float = 10.0  # CUSTOMERS_SHUTDOWN_TIMEOUT: in-flight requests' deadline

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings from environment variables (unset ones keep their defaults)."""
        data_dir = env.get("CUSTOMERS_DATA_DIR")
        return cls(
            mongodb_uri=env.get("MONGODB_URI") or None,
            mongodb_database=env.get("MONGODB_DATABASE") or "customers",
            elasticsearch_url=env.get("ELASTICSEARCH_URL") or None,
            elasticsearch_index=env.get("ELASTICSEARCH_INDEX") or "customers",
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(env),
            environment=env.get("CUSTOMERS_ENV") or "development",
            jwt_secret=env.get("JWT_SECRET") or None,
            admin_cors=_split(env.get("ADMIN_CORS")),
            store_cors=_split(env.get("STORE_CORS")),
            log_level=(env.get("CUSTOMERS_LOG_LEVEL") or "INFO").upper(),
            indexer_enabled=(env.get("CUSTOMERS_INDEXER") or "on").lower()
            not in ("0", "off", "false", "no"),
            search_budget_seconds=float(env.get("CUSTOMERS_SEARCH_BUDGET") or 2.0),
            search_concurrency=int(env.get("CUSTOMERS_SEARCH_CONCURRENCY") or 4),
            rate_limit_auth=env.get("CUSTOMERS_RATE_LIMIT_AUTH") or "30/minute",
            rate_limit_register=env.get("CUSTOMERS_RATE_LIMIT_REGISTER") or "10/minute",
            metrics_port=int(env["METRICS_PORT"]) if env.get("METRICS_PORT") else None,
            shutdown_timeout=float(env.get("CUSTOMERS_SHUTDOWN_TIMEOUT") or 10.0),
        )

    @property
    def is_production(self) -> bool:
        """Whether CUSTOMERS_ENV says production (development defaults are then refused)."""
        return self.environment.lower() == "production"

    @property
    def embedded(self) -> bool:
        """Whether MongoDB is the embedded server (no MONGODB_URI)."""
        return self.mongodb_uri is None
