"""Configuration comes from the environment; production refuses to start misconfigured."""
from __future__ import annotations

import pytest

import config

STRONG_KEY = "k" * 40


def test_production_without_secret_key_refuses_to_start(monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://parcours@db/parcours")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load_config("production")


def test_production_without_database_url_refuses_to_start(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        config.load_config("production")


@pytest.mark.parametrize("key", ["short", config.DEV_SECRET_KEY])
def test_production_refuses_weak_secret_keys(monkeypatch, key: str) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("DATABASE_URL", "postgresql://parcours@db/parcours")
    with pytest.raises(RuntimeError, match="32"):
        config.load_config("production")


def test_production_loads_with_secrets_and_secures_cookies(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("DATABASE_URL", "postgres://parcours:pw@db:5432/parcours")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    settings = config.load_config("production")
    assert settings.SECRET_KEY == STRONG_KEY
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.REMEMBER_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SQLALCHEMY_DATABASE_URI == "postgresql://parcours:pw@db:5432/parcours"


def test_postgres_urls_are_normalised() -> None:
    assert config.normalise_database_url("postgres://u@h/d") == "postgresql://u@h/d"
    assert config.normalise_database_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert config.normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_settings_are_read_when_loaded_not_at_import(monkeypatch) -> None:
    monkeypatch.setenv("SESSION_LIFETIME_MINUTES", "30")
    assert config.load_config("development").PERMANENT_SESSION_LIFETIME == 30 * 60


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(RuntimeError, match="PARCOURS_ENV"):
        config.load_config("staging")


def test_testing_config_disables_csrf_only_for_tests() -> None:
    assert config.load_config("testing").WTF_CSRF_ENABLED is False
    assert config.load_config("development").WTF_CSRF_ENABLED is True
