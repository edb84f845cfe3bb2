"""Encrypted columns (core.fields): key rotation, a bad key configuration, the embedded run's key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from core import fields
from projects.models import SecretKey

ROOT = Path(__file__).resolve().parent.parent.parent
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _stored(key: SecretKey) -> str:
    """The column as PostgreSQL holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM projects_secretkey WHERE id = %s", [key.pk])
        return cursor.fetchone()[0]


def test_a_secret_is_stored_encrypted_and_read_back_plain(team, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    key = SecretKey.objects.create(project=team.project, label="k", secret="s3cr3t-value", last4="alue")
    stored = _stored(key)
    assert "s3cr3t-value" not in stored
    assert Fernet(OLD.encode()).decrypt(stored.encode()) == b"s3cr3t-value"
    assert SecretKey.objects.get(pk=key.pk).secret == "s3cr3t-value"


def test_rotation_reads_rows_written_with_the_old_key_and_writes_with_the_new(team, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    before = SecretKey.objects.create(project=team.project, label="old", secret="written-before", last4="fore")

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert SecretKey.objects.get(pk=before.pk).secret == "written-before"
    after = SecretKey.objects.create(project=team.project, label="new", secret="written-after", last4="fter")
    assert Fernet(NEW.encode()).decrypt(_stored(after).encode()) == b"written-after"

    # Once every row is rewritten the old key can go: a row written after rotation needs only the new one.
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert SecretKey.objects.get(pk=after.pk).secret == "written-after"
    with pytest.raises(ImproperlyConfigured, match=r"^An encrypted column cannot be read with the configured keys\.$"):
        SecretKey.objects.get(pk=before.pk)


@pytest.mark.parametrize("keys", [["not-a-fernet-key"], [NEW, "c2hvcnQ="]])
def test_an_invalid_key_fails_clearly(team, settings, keys):
    settings.FIELD_ENCRYPTION_KEYS = keys
    with pytest.raises(ImproperlyConfigured, match="FILEDOCK_FIELD_ENCRYPTION_KEYS holds an invalid key"):
        SecretKey.objects.create(project=team.project, label="k", secret="x", last4="x")
    with pytest.raises(ImproperlyConfigured, match="FILEDOCK_FIELD_ENCRYPTION_KEYS holds an invalid key"):
        fields.decrypt(Fernet(NEW.encode()).encrypt(b"x").decode())


def test_the_embedded_run_derives_its_key_from_the_secret_key(settings):
    """`make run` sets no keys: the key comes from SECRET_KEY, the same in every process that shares it."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_SECRET_KEY": "embedded-secret-one",
        "FILEDOCK_FIELD_ENCRYPTION_KEYS": "",
    }
    program = (
        "import django; django.setup(); from django.conf import settings; from core import fields; "
        "assert settings.FIELD_ENCRYPTION_KEYS == [], settings.FIELD_ENCRYPTION_KEYS; "
        "print(fields.encrypt('made-by-another-process'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    token = result.stdout.strip().splitlines()[-1]

    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "embedded-secret-one"
    assert fields.decrypt(token) == "made-by-another-process"
    assert fields.decrypt(fields.encrypt("round trip")) == "round trip"
    settings.SECRET_KEY = "embedded-secret-two"
    with pytest.raises(ImproperlyConfigured, match=r"^An encrypted column cannot be read with the configured keys\.$"):
        fields.decrypt(token)


def test_null_stays_null():
    field = SecretKey._meta.get_field("secret")
    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, connection) is None
