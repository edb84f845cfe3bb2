"""Every allauth page a person reaches renders in the dashboard's layout, under the strict CSP.

The pages are restyled with template overrides only (templates/allauth/layouts, templates/allauth/elements
and a few page templates); these tests walk the real flows (sign up, confirm, log in, reauthenticate,
activate two-factor, reset a password) and check each page that comes up.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.account.views import EmailView
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import path, reverse

from accounts.models import User
from config.urls import urlpatterns as project_urlpatterns
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activate_totp, log_in

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
# allauth picks account/email.html (several addresses per user) over account/email_change.html only when
# ACCOUNT_CHANGE_EMAIL is off, decided at import time; this URL serves the overridden page for the test below.
urlpatterns = [
    path("test/email-list/", EmailView.as_view(template_name="account/email.html"), name="test_email_list"),
    *project_urlpatterns,
]

ACCOUNT_NAV = {
    "account_email": "Email address",
    "account_change_password": "Password",
    "mfa_index": "Two-factor authentication",
    "usersessions_list": "Sessions",
}


def assert_dashboard_page(response):
    """200, rendered in our base.html, and nothing the Content-Security-Policy would block."""
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert '<header class="topbar">' in html
    assert re.search(r'<a class="brand"[^>]*>\s*<img [^>]*>\s*Filedock\s*</a>', html)
    assert 'href="/static/css/auth.css"' in html
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not STYLE_ATTRIBUTE.search(html), STYLE_ATTRIBUTE.search(html).group(0)
    assert not STYLE_BLOCK.search(html)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    return html


def assert_entrance_page(response, heading):
    """A signed-out style page: the centred card layout, allauth's plain markup replaced by ours."""
    html = assert_dashboard_page(response)
    assert '<body class="auth auth-entrance">' in html
    assert 'class="sidebar' not in html
    assert re.search(rf'<h1 class="auth-title">\s*{re.escape(heading)}\s*</h1>', html), heading
    return html


def assert_manage_page(response, heading, current):
    """An account settings page: the dashboard with the account sidebar, the current section marked."""
    html = assert_dashboard_page(response)
    assert '<body class="auth-manage">' in html
    nav = re.search(r'<nav class="sidebar account-nav" aria-label="Account">(.*?)</nav>', html, re.S)
    assert nav, "account sidebar missing"
    for name, label in ACCOUNT_NAV.items():
        link = re.search(rf'<a href="{re.escape(reverse(name))}"([^>]*)>{label}</a>', nav.group(1))
        assert link, f"sidebar link {label} missing"
        assert ('aria-current="page"' in link.group(1)) == (name == current), label
    assert re.search(rf'<div class="page-head"><h1>\s*{re.escape(heading)}\s*</h1></div>', html), heading
    return html


def reauthenticate(client):
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()


def link_in_last_mail(path_prefix):
    body = mail.outbox[-1].body
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S+)", body)
    assert match, body
    return match.group(1)


# ---- Signed out ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("account_login", "Log in"),
        ("account_signup", "Sign up"),
        ("account_reset_password", "Password Reset"),
        ("account_reset_password_done", "Password Reset"),
    ],
)
def test_signed_out_pages(client, name, heading):
    html = assert_entrance_page(client.get(reverse(name)), heading)
    assert 'href="/accounts/login/">Log in</a>' in html  # the signed-out topbar


def test_login_form_uses_dashboard_fields(client):
    html = assert_entrance_page(client.get(reverse("account_login")), "Log in")
    assert '<form class="auth-form" method="post" action="/accounts/login/"' in html
    assert re.search(r'<div class="field">\s*<label for="id_login">Email</label>', html)
    assert re.search(r'<div class="field">\s*<label for="id_password">Password</label>', html)
    assert f'href="{reverse("account_reset_password")}">Forgot your password?</a>' in html
    assert re.search(r'<label class="choice-label" for="id_remember"><input type="checkbox"', html)
    assert re.search(r'<button class="button wide" type="submit">\s*Log in\s*</button>', html)


def test_failed_login_shows_the_error_in_the_card(client):
    user = UserFactory()
    response = client.post(reverse("account_login"), {"login": user.email, "password": "not-the-password"})
    html = assert_entrance_page(response, "Log in")
    error = "The email address and/or password you specified are not correct."
    assert f'<div class="form-errors" role="alert"><p>{error}</p>' in html


@pytest.mark.parametrize(
    ("email", "password2", "errors"),
    [
        (
            "not-an-email",
            "a-different-battery",
            ["Enter a valid email address.", "You must type the same password each time."],
        ),
        ("new-person@example.com", "a-different-battery", ["You must type the same password each time."]),
        ("not-an-email", PASSWORD, ["Enter a valid email address."]),
    ],
    ids=["both", "mismatched-passwords", "invalid-email"],
)
def test_bad_signup_rerenders_with_errors_and_creates_nobody(client, email, password2, errors):
    users_before = User.objects.count()
    response = client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": password2})

    html = assert_entrance_page(response, "Sign up")
    for error in errors:
        assert f'<p class="error">{error}</p>' in html, error
    assert 'class="field has-error"' in html
    assert f'value="{email}"' in html  # what was typed is kept
    assert User.objects.count() == users_before
    assert not User.objects.filter(email=email).exists()
    assert mail.outbox == []


def test_signup_then_confirm_email_pages(client):
    response = client.post(
        reverse("account_signup"), {"email": "new-person@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email="new-person@example.com").exists()

    html = assert_entrance_page(client.get(response["Location"]), "Verify your email address")
    assert "We have sent an email to you for verification." in html

    message = mail.outbox[-1]
    assert message.subject.startswith("[Filedock] ")
    assert "Hello from Filedock!" in message.body and "register an account on Filedock" in message.body
    confirm_url = link_in_last_mail("/accounts/confirm-email/")
    html = assert_entrance_page(client.get(confirm_url), "Confirm your email address")
    assert re.search(r'<button class="button" type="submit">\s*Confirm\s*</button>', html)

    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(email="new-person@example.com").verified


def test_password_reset_flow_pages(client):
    user = UserFactory()
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert_entrance_page(client.get(response["Location"]), "Password Reset")

    message = mail.outbox[-1]
    assert message.subject.startswith("[Filedock] ")
    assert "Hello from Filedock!" in message.body
    key_url = link_in_last_mail("/accounts/password/reset/key/")
    html = assert_entrance_page(client.get(key_url, follow=True), "Change Password")
    assert re.search(r'<label for="id_password1">New Password</label>', html)


def test_invalid_confirmation_link_page(client):
    response = client.get(reverse("account_confirm_email", args=["not-a-key"]))
    html = assert_entrance_page(response, "Confirm your email address")
    assert "This confirmation link has been used already, has expired or is not valid." in html
    assert f'<a href="{reverse("account_login")}">sign in</a>' in html


def test_a_used_confirmation_link_says_so_and_offers_sign_in(client):
    client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "a-Good-pw-8213", "password2": "a-Good-pw-8213"},
    )
    link = link_in_last_mail("/accounts/confirm-email/")
    page = client.get(link).content.decode()
    assert "Confirm that" in page and "new@example.com</a> is your email address." in page
    client.post(link)
    again = client.get(link).content.decode()
    assert "has been used already" in again and "sign in</a>" in again


# ---- Signed in -------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client):
    user = UserFactory()
    log_in(client, user)
    client.user = user
    return client


@pytest.mark.parametrize(
    ("name", "heading", "current"),
    [
        ("account_email", "Email address", "account_email"),
        ("account_change_password", "Change Password", "account_change_password"),
        ("mfa_index", "Two-Factor Authentication", "mfa_index"),
        ("usersessions_list", "Sessions", "usersessions_list"),
    ],
)
def test_account_pages(signed_in, name, heading, current):
    html = assert_manage_page(signed_in.get(reverse(name)), heading, current)
    assert f'<span class="menu-label">{signed_in.user.email}</span></summary>' in html  # the signed-in topbar


def test_email_page_is_a_card_form(signed_in):
    html = assert_manage_page(signed_in.get(reverse("account_email")), "Email address", "account_email")
    assert '<form class="card narrow auth-form" method="post" action="/accounts/email/"' in html
    assert f'id="current_email" value="{signed_in.user.email}" type="email"' in html


def test_email_page_with_a_pending_change_has_no_inline_style(signed_in):
    response = signed_in.post(reverse("account_email"), {"action_add": "", "email": "changed@example.com"})
    assert response.status_code == 302
    html = assert_manage_page(signed_in.get(reverse("account_email")), "Email address", "account_email")
    assert '<form hidden id="pending-email" method="post" action="/accounts/email/">' in html
    assert 'form="pending-email"' in html and 'data-confirm="Cancel the change to this address?"' in html


@pytest.mark.urls(__name__)
def test_multi_address_email_page_has_no_inline_script(signed_in):
    EmailAddress.objects.create(user=signed_in.user, email="second@example.com", verified=False)
    html = assert_manage_page(signed_in.get(reverse("test_email_list")), "Email addresses", None)
    assert re.search(r'<span class="badge ok">\s*Verified\s*</span>', html)
    assert re.search(r'<span class="badge warn">\s*Unverified\s*</span>', html)
    assert re.search(r'<span class="badge accent">\s*Primary\s*</span>', html)
    question = "Do you really want to remove the selected email address?"
    assert f'name="action_remove" type="submit" data-confirm="{question}"' in html


def test_sessions_page_lists_the_current_session(signed_in):
    html = assert_manage_page(signed_in.get(reverse("usersessions_list")), "Sessions", "usersessions_list")
    assert '<table class="table">' in html
    assert re.search(r'<span class="badge accent">\s*Current\s*</span>', html)


def test_logout_page(signed_in):
    html = assert_manage_page(signed_in.get(reverse("account_logout")), "Sign Out", None)
    assert '<form class="auth-form confirm-form" method="post" action="/accounts/logout/"' in html


def test_sensitive_pages_ask_to_reauthenticate_first(signed_in):
    response = signed_in.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    html = assert_entrance_page(signed_in.get(response["Location"]), "Confirm Access")
    assert re.search(r'<label for="id_password">Password</label>', html)


def test_two_factor_pages(signed_in):
    reauthenticate(signed_in)

    html = assert_manage_page(activate_totp(signed_in), "Activate Authenticator App", "mfa_index")
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" class="qr-code"', html)

    user = signed_in.user
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()

    html = assert_manage_page(signed_in.get(reverse("mfa_index")), "Two-Factor Authentication", "mfa_index")
    assert "Authentication using an authenticator app is active." in html
    assert html.count('<section class="card auth-panel">') == 2

    html = assert_manage_page(signed_in.get(reverse("mfa_view_recovery_codes")), "Recovery Codes", "mfa_index")
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    for code in codes:
        assert f"<li><code>{code}</code></li>" in html
    assert 'data-copy="' in html
    # Codes exist: making new ones (which voids these) is not the page's main action.
    generate = re.search(r'<a[^>]*href="/accounts/2fa/recovery-codes/generate/"[^>]*>', html)
    assert generate and "secondary" in generate.group(0)

    html = assert_manage_page(signed_in.get(reverse("mfa_generate_recovery_codes")), "Recovery Codes", "mfa_index")
    assert re.search(r'<button class="button danger" type="submit">\s*Generate\s*</button>', html)

    response = signed_in.get(reverse("mfa_deactivate_totp"))
    html = assert_manage_page(response, "Deactivate Authenticator App", "mfa_index")
    assert re.search(r'<button class="button danger" type="submit">\s*Deactivate\s*</button>', html)


def test_mfa_reauthenticate_page(signed_in):
    reauthenticate(signed_in)
    activate_totp(signed_in)
    html = assert_entrance_page(signed_in.get(reverse("mfa_reauthenticate")), "Confirm Access")
    assert "Enter an authenticator code:" in html


def test_login_with_two_factor_asks_for_a_code(client):
    user = UserFactory()
    log_in(client, user)
    reauthenticate(client)
    activate_totp(client)
    client.post(reverse("account_logout"))

    response = log_in(client, user)
    assert response["Location"] == reverse("mfa_authenticate")
    html = assert_entrance_page(client.get(response["Location"]), "Two-Factor Authentication")
    assert re.search(r'<label for="id_code">Code</label>', html)
    assert '<form id="logout-from-stage"' in html


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/"])
def test_the_entrance_pages_say_log_in_and_sign_up(client, db, url):
    page = client.get(url).content.decode()
    assert "Log in" in page and "Sign up" in page
    for word in ("Sign In", "Sign Up", "Remember Me", "sign in"):
        assert word not in page, word


def test_a_wrong_current_password_says_so(signed_in):
    response = signed_in.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": "a-new-battery-77", "password2": "a-new-battery-77"},
    )
    assert response.status_code == 200 and "That is not your current password." in response.content.decode()


@pytest.mark.urls(__name__)
def test_email_pages_say_email_address_in_sentence_case(client, db):
    """allauth's title case ("Email Address", "Add Email", "Re-send Verification") nowhere; one name for the page."""
    user = UserFactory()
    client.force_login(user)
    pages = [reverse("account_email"), reverse("test_email_list"), reverse("account_email_verification_sent")]
    pages.append(reverse("account_confirm_email", args=["no-such-key"]))
    for url in pages:
        html = client.get(url).content.decode()
        for title_case in ("Email Address", "Add Email", "Re-send Verification", "Make Primary", "Change Email"):
            assert title_case not in html, (url, title_case)
    html = client.get(reverse("account_email")).content.decode()
    assert re.search(r"<h1>\s*Email address\s*</h1>", html)
    assert len(re.findall(r">\s*Email address\s*</a>", html)) == 2  # the account menu and the page's own menu
