"""Account flows carried through to their effect with the test client: a reset or changed password
signs in and the old one no longer does, a two-factor sign-in needs the current code, and
"Sign out other sessions" ends the others."""

import base64
import hashlib
import hmac
import re
import struct
import time

from allauth.mfa.adapter import get_adapter as mfa_adapter
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "a-brand-new-battery-42"


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 with an authenticator app's defaults: HMAC-SHA1, 30-second steps, 6 digits."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def signs_in(email, password) -> bool:
    client = Client()
    client.post(reverse("account_login"), {"login": email, "password": password})
    return "_auth_user_id" in client.session


def signed_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_a_password_reset_completed_from_the_emailed_link(client, db):
    user = UserFactory()
    assert client.post(reverse("account_reset_password"), {"email": user.email}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link)  # allauth moves the key into the session and redirects to a keyless URL
    assert form.status_code == 302
    done = client.post(form["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert done.status_code == 302 and done["Location"] == reverse("account_reset_password_from_key_done")
    assert signs_in(user.email, NEW_PASSWORD) and not signs_in(user.email, PASSWORD)
    # The link works once.
    reused = Client().get(link, follow=True)
    assert reused.status_code == 200 and reused.context["token_fail"] is True


def test_a_password_change_replaces_the_old_password_and_keeps_the_session(client, db):
    user = UserFactory()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    wrong = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and "That is not your current password." in wrong.content.decode()
    assert signs_in(user.email, PASSWORD)

    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert signed_in(client, user)
    assert signs_in(user.email, NEW_PASSWORD) and not signs_in(user.email, PASSWORD)


def test_two_factor_sign_in_needs_the_current_code(client, db, django_capture_on_commit_callbacks):
    user = UserFactory()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.get(reverse("mfa_activate_totp"))
    with django_capture_on_commit_callbacks(execute=True):
        activated = client.post(reverse("mfa_activate_totp"), {"code": totp(client.session["mfa.totp.secret"])})
    assert activated.status_code == 302
    client.logout()

    secret = mfa_adapter().decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])
    fresh = Client()
    step = fresh.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in fresh.session  # the password alone does not sign in

    stale = fresh.post(reverse("mfa_authenticate"), {"code": totp(secret, at=time.time() - 600)})
    assert stale.status_code == 200 and "_auth_user_id" not in fresh.session
    done = fresh.post(reverse("mfa_authenticate"), {"code": totp(secret)})
    assert done.status_code == 302 and signed_in(fresh, user)


def test_signing_out_other_sessions_ends_them_and_keeps_this_one(client, db):
    user = UserFactory()
    others = [Client(), Client()]
    for other in [*others, client]:
        other.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    home = reverse("accounts:audit")
    assert all(other.get(home).status_code == 200 for other in others)

    assert client.post(reverse("usersessions_list")).status_code == 302

    for other in others:
        response = other.get(home)
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert client.get(home).status_code == 200 and signed_in(client, user)
    # The account's log says who ended them and how many (allauth sends no signal of its own).
    [ended] = AuditEvent.objects.filter(action=AuditEvent.Action.SESSIONS_ENDED)
    assert (ended.actor, ended.details) == (user, {"sessions": 2})
