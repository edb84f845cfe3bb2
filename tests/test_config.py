import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_is_documented_in_env_example():
    used = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        used |= set(re.findall(r'env_\w+\("([A-Z0-9_]+)"', path.read_text()))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set()


@pytest.mark.parametrize(
    ("reader", "value"), [(env.env_bool, "maybe"), (env.env_int, "ten"), (env.env_database, "nope://")]
)
def test_malformed_values_stop_start_up(monkeypatch, reader, value):
    monkeypatch.setenv("FILEDOCK_X", value)
    with pytest.raises(ImproperlyConfigured, match="FILEDOCK_X"):
        reader("FILEDOCK_X", "sqlite:///x" if reader is env.env_database else 1)


def test_production_settings_pass_the_deploy_check():
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60 + "-not-a-real-secret-but-long-and-varied-0123456789",
        "DJANGO_ALLOWED_HOSTS": "files.example.com",
        "FILEDOCK_FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_encryption_keys():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "FILEDOCK_FIELD_ENCRYPTION_KEYS": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "FILEDOCK_FIELD_ENCRYPTION_KEYS" in result.stderr
