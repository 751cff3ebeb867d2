"""Settings, read from the environment in one place.

The API, the indexer, the CLI, the scripts and the tests all build a :class:`Settings` (tests pass
their own). With nothing set, everything runs embedded: SecantusDB started from the data
directory and a tantivy index beside it.

A malformed or out-of-range value is refused when the settings are built (:class:`ConfigError`,
whose message names the variable), so a typo stops ``customers serve`` with one clear line
instead of a traceback later, or worse, a silently different behaviour (``CUSTOMERS_ENV=prod``
is not production). Messages never repeat secrets (``MONGODB_URI`` may hold a password).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from app.errors import quote

__all__ = ["DEFAULT_JWT_SECRET", "ConfigError", "Settings", "default_data_dir"]

# Development-only default (32+ bytes, so HS256 keys are not flagged as too short); refused when
# CUSTOMERS_ENV=production. Medusa's own default is "supersecret".
DEFAULT_JWT_SECRET = "supersecret-development-only-do-not-deploy"


def default_data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/customers``, i.e. ``~/.local/share/customers`` by default."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "customers"


class ConfigError(ValueError):
    """A setting is malformed or out of range; the message names the environment variable."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _shown(value: str) -> str:
    return repr(quote(value, 40))


def _number(
    env: Mapping[str, str], name: str, default: float, *, what: str = "a number (seconds)"
) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {_shown(raw)}") from None


@overload
def _integer(env: Mapping[str, str], name: str, default: int, *, what: str = ...) -> int: ...
@overload
def _integer(
    env: Mapping[str, str], name: str, default: None, *, what: str = ...
) -> int | None: ...
def _integer(
    env: Mapping[str, str], name: str, default: int | None, *, what: str = "a whole number"
) -> int | None:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {_shown(raw)}") from None


PORT_NUMBER = "a TCP port number (0-65535, 0 = any free port)"
_ON = ("1", "on", "true", "yes")
_OFF = ("0", "off", "false", "no")


def _region(raw: str | None) -> str | None:
    """A default phone region: ``US`` when unset, ``None`` for ``off``."""
    value = (raw or "").strip()
    if not value:
        return "US"
    return None if value.lower() in _OFF else value.upper()


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _ON or raw in _OFF:
        return raw in _ON
    raise ConfigError(f"{name} must be on or off, got {_shown(raw)}")


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
    link_guest_on_register: bool = False  # CUSTOMERS_LINK_GUEST_ON_REGISTER: merge the guest
    import_max_bytes: int = 1 << 30  # CUSTOMERS_IMPORT_MAX_BYTES: largest import upload (1 GiB)
    duplicates_min_score: float = 0.6  # CUSTOMERS_DUPLICATES_MIN_SCORE: pairs from here on
    duplicates_email_folding: bool = False  # CUSTOMERS_DUPLICATES_EMAIL_FOLDING: +tags, dots
    duplicates_phone_region: str | None = "US"  # CUSTOMERS_DUPLICATES_PHONE_REGION; None: off

    def __post_init__(self) -> None:
        """Refuse values no service can run with, naming the variable (also for Settings(...))."""
        _check_settings(self)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings from environment variables (unset ones keep their defaults).

        :raise ConfigError: a variable is malformed or out of range (the message names it).
        """
        data_dir = env.get("CUSTOMERS_DATA_DIR")
        return cls(
            mongodb_uri=env.get("MONGODB_URI") or None,
            mongodb_database=env.get("MONGODB_DATABASE") or "customers",
            elasticsearch_url=env.get("ELASTICSEARCH_URL") or None,
            elasticsearch_index=env.get("ELASTICSEARCH_INDEX") or "customers",
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(env),
            environment=(env.get("CUSTOMERS_ENV") or "development").lower(),
            jwt_secret=env.get("JWT_SECRET") or None,
            admin_cors=_split(env.get("ADMIN_CORS")),
            store_cors=_split(env.get("STORE_CORS")),
            log_level=(env.get("CUSTOMERS_LOG_LEVEL") or "INFO").upper(),
            indexer_enabled=_switch(env, "CUSTOMERS_INDEXER", default=True),
            search_budget_seconds=_number(env, "CUSTOMERS_SEARCH_BUDGET", 2.0),
            search_concurrency=_integer(env, "CUSTOMERS_SEARCH_CONCURRENCY", 4),
            rate_limit_auth=env.get("CUSTOMERS_RATE_LIMIT_AUTH") or "30/minute",
            rate_limit_register=env.get("CUSTOMERS_RATE_LIMIT_REGISTER") or "10/minute",
            metrics_port=_integer(env, "METRICS_PORT", None, what=PORT_NUMBER),
            shutdown_timeout=_number(env, "CUSTOMERS_SHUTDOWN_TIMEOUT", 10.0),
            link_guest_on_register=_switch(env, "CUSTOMERS_LINK_GUEST_ON_REGISTER", default=False),
            import_max_bytes=_integer(env, "CUSTOMERS_IMPORT_MAX_BYTES", 1 << 30),
            duplicates_min_score=_number(
                env, "CUSTOMERS_DUPLICATES_MIN_SCORE", 0.6, what="a number from 0 to 1"
            ),
            duplicates_email_folding=_switch(
                env, "CUSTOMERS_DUPLICATES_EMAIL_FOLDING", default=False
            ),
            duplicates_phone_region=_region(env.get("CUSTOMERS_DUPLICATES_PHONE_REGION")),
        )

    @property
    def is_production(self) -> bool:
        """Whether CUSTOMERS_ENV says production (development defaults are then refused)."""
        return self.environment.lower() == "production"

    @property
    def embedded(self) -> bool:
        """Whether MongoDB is the embedded server (no MONGODB_URI)."""
        return self.mongodb_uri is None


# --- validation ---------------------------------------------------------------------------------

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASE_NAME = re.compile(r'^[^/\\. "$\x00]{1,63}$')  # MongoDB's rules for database names
_INDEX_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")  # Elasticsearch index names


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _check_seconds(value: float, name: str, *, zero_ok: bool) -> None:
    bound = "0 or more" if zero_ok else "more than 0"
    _require(
        math.isfinite(value) and (value >= 0 if zero_ok else value > 0),
        f"{name} must be {bound} seconds, got {value:g}",
    )


def _check_settings(settings: Settings) -> None:
    """Raise :class:`ConfigError` for the first setting no service can run with."""
    _check_connections(settings)
    _require(
        settings.environment in ENVIRONMENTS,
        f"CUSTOMERS_ENV must be one of {', '.join(ENVIRONMENTS)}, "
        f"got {_shown(settings.environment)}",
    )
    _require(
        settings.log_level in LOG_LEVELS,
        f"CUSTOMERS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
        f"got {_shown(settings.log_level)}",
    )
    _check_seconds(settings.search_budget_seconds, "CUSTOMERS_SEARCH_BUDGET", zero_ok=False)
    _require(
        settings.search_concurrency >= 1,
        f"CUSTOMERS_SEARCH_CONCURRENCY must be 1 or more, got {settings.search_concurrency}",
    )
    from app.ratelimit import parse_limit  # the runtime's own parser: one notation

    for name, value in (
        ("CUSTOMERS_RATE_LIMIT_AUTH", settings.rate_limit_auth),
        ("CUSTOMERS_RATE_LIMIT_REGISTER", settings.rate_limit_register),
    ):
        try:
            parse_limit(value, name)
        except ValueError:
            raise ConfigError(
                f"{name} must be a rate such as 10/minute (or off), got {_shown(value)}"
            ) from None
    port = settings.metrics_port
    _require(
        port is None or 0 <= port <= 65535,
        f"METRICS_PORT must be {PORT_NUMBER}, got {port}",
    )
    _check_seconds(settings.shutdown_timeout, "CUSTOMERS_SHUTDOWN_TIMEOUT", zero_ok=True)
    _require(
        settings.import_max_bytes >= 1,
        f"CUSTOMERS_IMPORT_MAX_BYTES must be 1 or more, got {settings.import_max_bytes}",
    )
    _check_duplicates(settings)


def _check_duplicates(settings: Settings) -> None:
    score = settings.duplicates_min_score
    _require(
        math.isfinite(score) and 0 < score <= 1,
        f"CUSTOMERS_DUPLICATES_MIN_SCORE must be more than 0 and at most 1, got {score:g}",
    )
    import phonenumbers  # only checked here: the detection reads it from the settings

    region = settings.duplicates_phone_region
    _require(
        region is None or region in phonenumbers.SUPPORTED_REGIONS,
        "CUSTOMERS_DUPLICATES_PHONE_REGION must be a two-letter region code such as US or DE "
        f"(or off), got {_shown(region or '')}",
    )


def _check_connections(settings: Settings) -> None:
    uri = settings.mongodb_uri
    _require(
        uri is None or uri.startswith(("mongodb://", "mongodb+srv://")),
        "MONGODB_URI must start with mongodb:// or mongodb+srv://",  # never quoted: a password
    )
    _require(
        bool(_DATABASE_NAME.match(settings.mongodb_database)),
        'MONGODB_DATABASE must be 1-63 characters without / \\ . space " or $, '
        f"got {_shown(settings.mongodb_database)}",
    )
    url = settings.elasticsearch_url
    _require(
        url is None or url.startswith(("http://", "https://")),
        "ELASTICSEARCH_URL must start with http:// or https://",  # may hold credentials
    )
    _require(
        bool(_INDEX_PREFIX.match(settings.elasticsearch_index)),
        "ELASTICSEARCH_INDEX must be lowercase letters, digits, _ . or -, "
        f"got {_shown(settings.elasticsearch_index)}",
    )
