"""Custom OAuth applications (upload sources): per-provider validation, the encrypted secret,
and the dashboard pages."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from projects.models import OAUTH_PROVIDER_SPECS, OAuthApp, OAuthProvider
from projects.services import OAUTH_SECRET_MAX_LENGTH, oauth_app_delete, oauth_app_save

SECRET = "dbx-secret-0123456789WXYZ"

# One real-looking client id per provider, in the format its developer console issues.
GOOD_IDS = {
    "dropbox": "a1b2c3d4e5f6g7h",
    "gdrive": "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
    "gphotos": "987654321098-0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p.apps.googleusercontent.com",
    "onedrive": "6731de76-14a6-49ae-97bc-6eba6914391e",
    "box": "abcdefghijklmnopqrstuvwxyz012345",
    "facebook": "1234567890123456",
    "instagram": "990602627938098",
    "flickr": "0123456789abcdef0123456789ABCDEF",
    "vk": "51234567",
    "evernote": "sampleKey",
    "huddle": "CloudHack",
}

BAD_IDS = [
    ("dropbox", "A1B2C3D4E5F6G7H"),  # uppercase
    ("dropbox", "a1b2c3d4e5f6g7"),  # 14 characters
    ("gdrive", "123456789012-abcdef.apps.googleusercontent"),  # suffix cut off
    ("gphotos", "my-client-id"),
    ("onedrive", "6731de76-14a6-49ae-97bc-6eba6914391"),  # one digit short
    ("box", "abcdefghijklmnopqrstuvwxyz01234"),  # 31 characters
    ("facebook", "12345abc"),
    ("instagram", "ig_1234"),
    ("flickr", "0123456789abcdef0123456789abcdeg"),  # g is not hex
    ("vk", "app51234567"),
    ("evernote", "sample Key"),  # a space from a sloppy paste
    ("huddle", "Cloud\tHack"),
]


def test_every_provider_has_a_spec():
    assert set(OAUTH_PROVIDER_SPECS) == {p.value for p in OAuthProvider}
    assert set(GOOD_IDS) == set(OAUTH_PROVIDER_SPECS)


@pytest.mark.parametrize("provider", sorted(GOOD_IDS))
def test_real_looking_client_ids_are_accepted(team, provider):
    app = oauth_app_save(
        project=team.project,
        provider=provider,
        client_id=f"  {GOOD_IDS[provider]} ",
        client_secret=SECRET,
        enabled=True,
    )
    assert app.client_id == GOOD_IDS[provider] and app.enabled


def test_legacy_onedrive_live_sdk_id_is_accepted(team):
    app = oauth_app_save(
        project=team.project, provider="onedrive", client_id="000000004C12345A", client_secret=SECRET, enabled=True
    )
    assert app.client_id == "000000004C12345A"


@pytest.mark.parametrize(("provider", "client_id"), BAD_IDS)
def test_malformed_client_ids_are_refused(team, provider, client_id):
    with pytest.raises(ValidationError) as exc:
        oauth_app_save(project=team.project, provider=provider, client_id=client_id, client_secret=SECRET, enabled=True)
    assert list(exc.value.message_dict) == ["client_id"]
    assert not OAuthApp.objects.exists()


def test_google_error_names_the_expected_suffix(team):
    with pytest.raises(ValidationError) as exc:
        oauth_app_save(project=team.project, provider="gdrive", client_id="abc", client_secret=SECRET, enabled=True)
    assert ".apps.googleusercontent.com" in exc.value.message_dict["client_id"][0]


def test_client_id_and_secret_are_required_on_first_save(team):
    with pytest.raises(ValidationError) as exc:
        oauth_app_save(project=team.project, provider="box", client_id=" ", client_secret="", enabled=True)
    assert exc.value.message_dict == {
        "client_id": ["Enter the client id."],
        "client_secret": ["Enter the client secret."],
    }


def test_a_client_id_with_a_space_or_over_255_characters_is_a_paste_slip(team):
    for client_id in ("Cloud Hack", "k" * 256):
        with pytest.raises(ValidationError) as exc:
            oauth_app_save(
                project=team.project, provider="huddle", client_id=client_id, client_secret=SECRET, enabled=True
            )
        assert exc.value.message_dict == {"client_id": ["Remove the spaces or stray characters from the client id."]}
    assert not OAuthApp.objects.exists()


def test_the_longest_client_id_and_secret_are_accepted_and_a_nul_in_the_secret_is_not(team):
    longest = {"client_id": "k" * 255, "client_secret": "s" * OAUTH_SECRET_MAX_LENGTH}
    app = oauth_app_save(project=team.project, provider="huddle", enabled=True, **longest)
    assert (len(app.client_id), len(app.client_secret)) == (255, OAUTH_SECRET_MAX_LENGTH)

    with pytest.raises(ValidationError) as exc:
        oauth_app_save(
            project=team.project, provider="box", client_id=GOOD_IDS["box"], client_secret="a\x00b", enabled=True
        )
    assert exc.value.message_dict == {"client_secret": ["This is not a client secret."]}
    assert not OAuthApp.objects.filter(provider="box").exists()


def test_unknown_provider_is_refused(team):
    with pytest.raises(ValidationError) as exc:
        oauth_app_save(project=team.project, provider="myspace", client_id="x", client_secret="y", enabled=True)
    assert exc.value.message_dict == {"provider": ["Choose one of the supported upload sources."]}


def test_secret_is_encrypted_at_rest_and_masked(team):
    app = oauth_app_save(
        project=team.project, provider="dropbox", client_id=GOOD_IDS["dropbox"], client_secret=SECRET, enabled=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM projects_oauthapp WHERE id = %s", [app.pk])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored and stored.startswith("gAAAA")  # Fernet token
    assert OAuthApp.objects.get().client_secret == SECRET
    assert app.masked_secret.endswith("WXYZ") and SECRET[:-4] not in app.masked_secret


def test_short_secret_is_masked_completely(team):
    app = oauth_app_save(
        project=team.project, provider="huddle", client_id="CloudHack", client_secret="abc12", enabled=True
    )
    assert "abc12"[-4:] not in app.masked_secret


def test_blank_secret_on_edit_keeps_the_stored_one(team):
    oauth_app_save(
        project=team.project, provider="dropbox", client_id=GOOD_IDS["dropbox"], client_secret=SECRET, enabled=True
    )
    app = oauth_app_save(
        project=team.project, provider="dropbox", client_id="zzzzzzzzzzzzzzz", client_secret="", enabled=False
    )
    app = OAuthApp.objects.get(pk=app.pk)
    assert (app.client_id, app.client_secret, app.enabled) == ("zzzzzzzzzzzzzzz", SECRET, False)
    assert OAuthApp.objects.count() == 1


def test_new_secret_on_edit_replaces_it(team):
    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret="new-secret", enabled=True)
    assert OAuthApp.objects.get().client_secret == "new-secret"


def test_apps_are_per_project(team):
    other = team.outsider.memberships.get().project
    for project in (team.project, other):
        oauth_app_save(project=project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    assert OAuthApp.objects.count() == 2


def test_delete(team):
    app = oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    oauth_app_delete(oauth_app=app)
    assert not OAuthApp.objects.exists()


# Dashboard


def _url(name, team, *args):
    return reverse(f"projects:{name}", args=[team.project.pk, *args])


def test_list_shows_every_provider_and_its_state(login, team):
    oauth_app_save(
        project=team.project, provider="dropbox", client_id=GOOD_IDS["dropbox"], client_secret=SECRET, enabled=True
    )
    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=False)
    response = login(team.admin).get(_url("oauth_apps", team))
    body = response.content.decode()
    assert response.status_code == 200
    for _, label in OAuthProvider.choices:
        assert label in body
    assert body.count("not configured") == 9 and "enabled</span>" in body and "disabled</span>" in body
    assert SECRET not in body and "WXYZ" in body
    assert f"/upload/sources/?pub_key={team.project.public_key}" in body


def test_edit_form_masks_the_secret(login, team):
    oauth_app_save(project=team.project, provider="box", client_id=GOOD_IDS["box"], client_secret=SECRET, enabled=True)
    response = login(team.owner).get(_url("oauth_app_edit", team, "box"))
    body = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert GOOD_IDS["box"] in body and SECRET not in body and "WXYZ" in body and "Leave blank to keep it" in body


def test_save_creates_then_edit_with_blank_secret_keeps_it(login, team):
    client = login(team.admin)
    response = client.post(
        _url("oauth_app_save", team, "dropbox"),
        {"client_id": GOOD_IDS["dropbox"], "client_secret": SECRET, "enabled": "on"},
    )
    assert response.status_code == 302 and response["Location"] == _url("oauth_apps", team)
    response = client.post(_url("oauth_app_save", team, "dropbox"), {"client_id": GOOD_IDS["dropbox"]})
    assert response.status_code == 302
    app = OAuthApp.objects.get()
    assert app.client_secret == SECRET and app.enabled is False


def test_bad_client_id_shows_the_error_keeps_the_typed_secret_and_saves_nothing(login, team):
    client = login(team.admin)
    response = client.post(
        _url("oauth_app_save", team, "dropbox"), {"client_id": "NOT-A-KEY", "client_secret": SECRET, "enabled": "on"}
    )
    # Redirected to the form's page (a reload does not post again), the secret encrypted in the session meanwhile.
    assert response.status_code == 302 and response["Location"] == _url("oauth_app_edit", team, "dropbox")
    assert SECRET not in str(client.session.load())
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "15 lowercase letters and digits" in body
    assert f'name="client_secret" value="{SECRET}"' in body  # not to be pasted again
    assert 'value="NOT-A-KEY"' in body and page["Cache-Control"] == "no-store"
    assert not OAuthApp.objects.exists()
    assert SECRET not in client.get(response["Location"]).content.decode()  # shown once, then a fresh form


def test_the_edit_page_explains_the_redirect_url_and_the_default_app(login, team):
    body = login(team.admin).get(_url("oauth_app_edit", team, "dropbox")).content.decode()
    assert "Filedock has none of its own" in body
    assert f'data-copy="http://testserver/upload/sources/?pub_key={team.project.public_key}"' in body
    assert "there is no server-wide setting or environment variable for one" in body
    assert "server&#x27;s own" not in body and "server's own" not in body


def test_remove(login, team):
    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    response = login(team.admin).post(_url("oauth_app_delete", team, "vk"))
    assert response.status_code == 302 and not OAuthApp.objects.exists()


def test_unknown_provider_is_404(login, team):
    client = login(team.admin)
    assert client.get(_url("oauth_app_edit", team, "myspace")).status_code == 404
    assert client.post(_url("oauth_app_save", team, "myspace"), {"client_id": "x"}).status_code == 404
    assert client.post(_url("oauth_app_delete", team, "dropbox")).status_code == 404  # not configured


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_member_and_viewer_cannot_change_oauth_apps(login, team, persona):
    client = login(team.user(persona))
    assert client.get(_url("oauth_apps", team)).status_code == 403
    response = client.post(_url("oauth_app_save", team, "vk"), {"client_id": "1", "client_secret": "s"})
    assert response.status_code == 403 and not OAuthApp.objects.exists()


def test_outsider_cannot_remove_another_projects_app(login, team):
    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    own = team.outsider.memberships.get().project
    client = login(team.outsider)
    assert client.post(_url("oauth_app_delete", team, "vk")).status_code == 404
    assert client.post(reverse("projects:oauth_app_delete", args=[own.pk, "vk"])).status_code == 404
    assert OAuthApp.objects.exists()


def test_sidebar_links_admins_only(login, team):
    assert _url("oauth_apps", team) in login(team.admin).get(_url("overview", team)).content.decode()
    assert _url("oauth_apps", team) not in login(team.member).get(_url("overview", team)).content.decode()


def test_admin_pages_never_show_the_secret(client, team):
    from tests.factories import UserFactory

    oauth_app_save(project=team.project, provider="vk", client_id="51234567", client_secret=SECRET, enabled=True)
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    app = OAuthApp.objects.get()
    for url in (
        reverse("admin:projects_oauthapp_changelist"),
        reverse("admin:projects_oauthapp_change", args=[app.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and SECRET not in response.content.decode()
