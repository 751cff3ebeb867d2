"""Settings from the environment: defaults, parsing, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Settings


def test_nothing_set_gives_the_defaults() -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": "/xdg"})
    assert settings.embedded and settings.data_dir == Path("/xdg/customers")
    assert (settings.search_budget_seconds, settings.search_concurrency) == (2.0, 4)
    assert (settings.metrics_port, settings.shutdown_timeout) == (None, 10.0)
    assert settings.indexer_enabled and not settings.is_production


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "METRICS_PORT": "9100",
            "CUSTOMERS_SEARCH_BUDGET": "0.5",
            "CUSTOMERS_SEARCH_CONCURRENCY": "8",
            "CUSTOMERS_SHUTDOWN_TIMEOUT": "0",
            "CUSTOMERS_INDEXER": "OFF",
            "CUSTOMERS_ENV": "Production",
            "CUSTOMERS_LOG_LEVEL": "debug",
            "CUSTOMERS_RATE_LIMIT_AUTH": "10 per 2 hours; 5/second",
            "MONGODB_URI": "mongodb+srv://user:pw@cluster.example/?retryWrites=true",
        }
    )
    assert settings.metrics_port == 9100 and settings.search_budget_seconds == 0.5
    assert settings.search_concurrency == 8 and settings.shutdown_timeout == 0.0
    assert not settings.indexer_enabled and settings.is_production
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "METRICS_PORT",
            "abc",
            "METRICS_PORT must be a TCP port number (0-65535, 0 = any free port), got 'abc'",
        ),
        (
            "METRICS_PORT",
            "70000",
            "METRICS_PORT must be a TCP port number (0-65535, 0 = any free port), got 70000",
        ),
        ("CUSTOMERS_SEARCH_BUDGET", "-1", "CUSTOMERS_SEARCH_BUDGET must be more than 0 seconds"),
        ("CUSTOMERS_SEARCH_BUDGET", "nan", "CUSTOMERS_SEARCH_BUDGET must be more than 0 seconds"),
        ("CUSTOMERS_SEARCH_BUDGET", "2s", "CUSTOMERS_SEARCH_BUDGET must be a number (seconds)"),
        ("CUSTOMERS_SEARCH_CONCURRENCY", "0", "CUSTOMERS_SEARCH_CONCURRENCY must be 1 or more"),
        ("CUSTOMERS_SHUTDOWN_TIMEOUT", "-5", "CUSTOMERS_SHUTDOWN_TIMEOUT must be 0 or more"),
        ("CUSTOMERS_SHUTDOWN_TIMEOUT", "inf", "CUSTOMERS_SHUTDOWN_TIMEOUT must be 0 or more"),
        ("CUSTOMERS_INDEXER", "maybe", "CUSTOMERS_INDEXER must be on or off"),
        ("CUSTOMERS_ENV", "prod", "CUSTOMERS_ENV must be one of development, production"),
        ("CUSTOMERS_LOG_LEVEL", "loud", "CUSTOMERS_LOG_LEVEL must be one of DEBUG"),
        ("CUSTOMERS_RATE_LIMIT_AUTH", "lots", "CUSTOMERS_RATE_LIMIT_AUTH must be a rate"),
        ("CUSTOMERS_RATE_LIMIT_REGISTER", "5/fortnight", "CUSTOMERS_RATE_LIMIT_REGISTER must"),
        ("MONGODB_DATABASE", "my.db", "MONGODB_DATABASE must be 1-63 characters"),
        ("ELASTICSEARCH_INDEX", "Customers", "ELASTICSEARCH_INDEX must be lowercase"),
        ("ELASTICSEARCH_URL", "localhost:9200", "ELASTICSEARCH_URL must start with http://"),
        ("CUSTOMERS_DUPLICATES_MIN_SCORE", "0", "CUSTOMERS_DUPLICATES_MIN_SCORE must be more"),
        ("CUSTOMERS_DUPLICATES_MIN_SCORE", "high", "CUSTOMERS_DUPLICATES_MIN_SCORE must be a"),
        ("CUSTOMERS_DUPLICATES_EMAIL_FOLDING", "gmail", "CUSTOMERS_DUPLICATES_EMAIL_FOLDING must"),
        ("CUSTOMERS_DUPLICATES_PHONE_REGION", "XX", "CUSTOMERS_DUPLICATES_PHONE_REGION must"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_secrets_are_never_repeated_in_the_message() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"MONGODB_URI": "postgres://admin:hunter2@db"})
    assert "MONGODB_URI" in str(info.value) and "hunter2" not in str(info.value)


def test_a_long_bad_value_is_quoted_short() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"CUSTOMERS_ENV": "x" * 10_000})
    assert len(str(info.value)) < 150


def test_duplicate_detection_settings() -> None:
    default = Settings.from_env({})
    assert (default.duplicates_min_score, default.duplicates_email_folding) == (0.6, False)
    assert default.duplicates_phone_region == "US"
    settings = Settings.from_env(
        {
            "CUSTOMERS_DUPLICATES_MIN_SCORE": "0.75",
            "CUSTOMERS_DUPLICATES_EMAIL_FOLDING": "on",
            "CUSTOMERS_DUPLICATES_PHONE_REGION": "de",
        }
    )
    assert settings.duplicates_min_score == 0.75 and settings.duplicates_email_folding
    assert settings.duplicates_phone_region == "DE"
    off = Settings.from_env({"CUSTOMERS_DUPLICATES_PHONE_REGION": "off"})
    assert off.duplicates_phone_region is None


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="CUSTOMERS_SHUTDOWN_TIMEOUT"):
        Settings(shutdown_timeout=-1.0)
