import json
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from accounts.models import User
from projects.models import Project
from projects.services import secret_key_authenticate


def _bootstrap(*args) -> dict:
    out = StringIO()
    call_command("bootstrap", *args, stdout=out)
    return json.loads(out.getvalue())


def test_bootstrap_creates_verified_account_project_and_working_key(db):
    data = _bootstrap("--email", "ops@example.com", "--password", "pw-123456", "--project", "Site")
    user = User.objects.get(email="ops@example.com")
    assert user.check_password("pw-123456")
    assert EmailAddress.objects.get(user=user).verified
    project = Project.objects.get(public_key=data["public_key"])
    assert project.name == "Site"
    assert secret_key_authenticate(public_key=data["public_key"], secret=data["secret_key"]).project == project
    assert data["upload_base"] == "http://127.0.0.1:8000/upload/"
    assert data["api_base"].endswith("/api/") and data["cdn_base"].endswith("/cdn/")


def test_bootstrap_is_idempotent(db):
    first = _bootstrap("--email", "ops@example.com", "--password", "pw-123456")
    second = _bootstrap("--email", "ops@example.com", "--password", "pw-123456")
    assert first["public_key"] == second["public_key"]
    assert first["secret_key"] != second["secret_key"]
    assert User.objects.count() == 1
    assert Project.objects.count() == 1


def test_bootstrap_rejects_bad_email(db):
    with pytest.raises(CommandError):
        _bootstrap("--email", "nope", "--password", "x")
    assert not User.objects.exists()


def test_bootstrap_says_which_addresses_its_urls_assume(db, monkeypatch):
    monkeypatch.delenv("FILEDOCK_SITE_URL", raising=False)
    monkeypatch.delenv("FILEDOCK_CDN_BASE", raising=False)
    out, err = StringIO(), StringIO()
    call_command("bootstrap", "--email", "n@example.com", "--password", "pw-123456", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["public_key"]  # stdout stays JSON for scripts
    assert "set FILEDOCK_SITE_URL and FILEDOCK_CDN_BASE" in err.getvalue()
    monkeypatch.setenv("FILEDOCK_SITE_URL", "http://127.0.0.1:8021")
    monkeypatch.setenv("FILEDOCK_CDN_BASE", "http://127.0.0.1:8022/")
    quiet = StringIO()
    call_command("bootstrap", "--email", "n@example.com", "--password", "pw-123456", stdout=StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""
