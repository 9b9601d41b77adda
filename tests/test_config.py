import os
import stat

import pytest

from ansinh.api import create_app
from ansinh.config import ConfigurationError, Settings, resolve_secret_key


def test_defaults_keep_everything_under_var(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'ansinh.db'}"
    assert settings.env == "development" and not settings.secure_cookies


def test_environment_variables_configure(monkeypatch):
    monkeypatch.setenv("ANSINH_DATABASE_URL", "postgresql+psycopg://db.example/ansinh")
    monkeypatch.setenv("ANSINH_PORT", "9000")
    monkeypatch.setenv("ANSINH_ENV", "production")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db.example/ansinh"
    assert settings.port == 9000 and settings.secure_cookies


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    settings = Settings(env="production", var_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="ANSINH_SECRET_KEY"):
        resolve_secret_key(settings)
    with pytest.raises(ConfigurationError, match="ANSINH_SECRET_KEY"):
        create_app(settings)
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(ConfigurationError, match="32 characters"):
        resolve_secret_key(Settings(env="production", var_dir=tmp_path, secret_key="short"))


def test_development_generates_a_key_once_and_keeps_it_private(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    first = resolve_secret_key(settings)
    assert len(first) >= 48
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert resolve_secret_key(settings) == first
