import json
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


def _beat_schedule(intervals: str) -> subprocess.CompletedProcess:
    """The periodic jobs' seconds as the local settings make them with FILEDOCK_BEAT_INTERVALS set."""
    program = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({n: e['schedule'] for n, e in settings.CELERY_BEAT_SCHEDULE.items()}))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "FILEDOCK_BEAT_INTERVALS": intervals,
    }
    return subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=environment, capture_output=True, text=True)


def test_beat_intervals_change_only_the_jobs_they_name():
    default = json.loads(_beat_schedule("").stdout)
    changed = json.loads(_beat_schedule("sweep-backups=1, relay-outbox=0.5").stdout)
    assert changed == {**default, "sweep-backups": 1.0, "relay-outbox": 0.5}
    assert default["sweep-backups"] != 1.0


@pytest.mark.parametrize("intervals", ["no-such-job=1", "sweep-backups=soon", "sweep-backups=0", "sweep-backups"])
def test_a_bad_beat_interval_stops_start_up(intervals):
    result = _beat_schedule(intervals)
    assert result.returncode != 0 and "FILEDOCK_BEAT_INTERVALS" in result.stderr


# Every module of the product, imported by a process that starts as `make run` does: the
# distributions it loads must all come with [project.dependencies] (a fresh `make run` installs
# only those; the test extras once brought Jinja2 in through Flask and hid that it was missing).
IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import django
django.setup()
from django.template import engines
engines.all()
for package in ("accounts", "billing", "config", "core", "files", "projects"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if ".migrations" not in info.name and not info.name.startswith("config.settings"):
            importlib.import_module(info.name)
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


# Imported only when installed (try/except ImportError), never needed: who tries each.
OPTIONAL = {
    "greenlet": "celery.utils.threads",
    "pygments": "httpx's command line, imported with httpx",
    "rich": "httpx's command line, imported with httpx",
    "setproctitle": "gunicorn and Celery name their processes with it",
    "setuptools": "its .pth hook (_distutils_hack), loaded by the interpreter",
}


def _runtime_closure() -> set[str]:
    """The distributions [project.dependencies] of pyproject.toml installs, and what those require
    in turn (with the extras asked for), as normalised names."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted, seen = [], set()
    for line in declared:
        requirement = Requirement(line)
        wanted.append((canonicalize_name(requirement.name), tuple(sorted(requirement.extras))))
    while wanted:
        name, extras = wanted.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            lines = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker and not any(requirement.marker.evaluate({"extra": extra}) for extra in (*extras, "")):
                continue
            wanted.append((canonicalize_name(requirement.name), tuple(sorted(requirement.extras))))
    return {name for name, _ in seen}


def test_the_product_imports_nothing_its_own_dependencies_do_not_install(tmp_path):
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "FILEDOCK_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    top_levels = json.loads(result.stdout.strip().splitlines()[-1])
    owners = packages_distributions()
    loaded = {canonicalize_name(dist) for name in top_levels for dist in owners.get(name, [])}
    assert "django" in loaded and "jinja2" in loaded  # the walk did load the product
    assert sorted(loaded - _runtime_closure() - set(OPTIONAL) - {"filedock"}) == []
