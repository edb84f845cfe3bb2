import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from files.services import file_delete, file_upload
from projects.models import Invitation, Membership, Project, Role, all_scopes
from projects.services import project_create


def test_overview_shows_public_key_bases_and_zero_counts(login, team):
    response = login(team.viewer).get(reverse("projects:overview", args=[team.project.pk]))
    body = response.content.decode()
    assert team.project.public_key in body
    for base in ("http://testserver/upload/", "http://testserver/api/", "http://testserver/cdn/"):
        assert base in body
    assert response.context["totals"] == {"count": 0, "size": 0}
    assert "pyuploadcare" in body and "@uploadcare/upload-client" in body


def _stats(page) -> tuple[str, str]:
    """The overview's file count and bytes as the page shows them."""
    html = page.content.decode()
    return tuple(re.search(rf'data-testid="{name}">([^<]*)<', html).group(1) for name in ("file-count", "byte-count"))


def test_overview_counts_the_projects_present_files_and_their_bytes(login, team):
    """Only this project's files that are not removed count; one file reads "1 file"."""
    elsewhere = team.outsider.memberships.get().project
    file_upload(project=elsewhere, content=ContentFile(b"x" * 999, name="o.txt"), filename="o.txt", store=True)
    kept = file_upload(
        project=team.project, content=ContentFile(b"x" * 1500, name="a.txt"), filename="a.txt", store=True
    )
    client = login(team.viewer)
    page = client.get(reverse("projects:overview", args=[team.project.pk]))
    assert page.context["totals"] == {"count": 1, "size": 1500}
    assert '<span class="stat-label">file</span>' in page.content.decode()
    assert _stats(page) == ("1", "1.5\xa0KB")
    gone = file_upload(
        project=team.project, content=ContentFile(b"y" * 10, name="b.txt"), filename="b.txt", store=False
    )
    file_upload(project=team.project, content=ContentFile(b"z" * 2010, name="c.txt"), filename="c.txt", store=False)
    file_delete(file=gone)
    page = client.get(reverse("projects:overview", args=[team.project.pk]))
    assert page.context["totals"] == {"count": 2, "size": 3510}
    assert '<span class="stat-label">files</span>' in page.content.decode() and kept.is_stored
    assert _stats(page) == ("2", "3.4\xa0KB")  # what the page shows, not only what the view handed it


def test_overview_shows_the_cache_its_renderings_take_against_the_budget(login, team, settings):
    from files.models import Rendering

    settings.FILEDOCK_CACHE_BUDGET = 10 * 1024**2
    Rendering.objects.create(storage_key="previews/x/ops-1.png", project=team.project, size=3 * 1024**2)
    page = login(team.viewer).get(reverse("projects:overview", args=[team.project.pk])).content.decode()
    assert '<span class="stat-value" data-testid="cache-bytes">3.0\xa0MB</span>' in page
    assert "cache, of 10.0\xa0MB" in page


def test_browsers_asking_for_favicon_ico_get_the_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/logo.svg")


def test_home_redirects_to_first_project(login, team):
    response = login(team.owner).get(reverse("projects:home"))
    assert response["Location"] == reverse("projects:overview", args=[team.project.pk])


def test_switcher_lists_only_my_projects(login, team):
    body = login(team.outsider).get(reverse("projects:list")).content.decode()
    assert "Elsewhere" in body and "Acme" not in body


def test_create_project(login, team):
    response = login(team.outsider).post(reverse("projects:create"), {"name": "Mobile app"})
    project = Project.objects.get(name="Mobile app")
    assert response["Location"] == reverse("projects:overview", args=[project.pk])
    assert project.memberships.get().user == team.outsider


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_project_rejects_bad_names(login, team, name):
    count = Project.objects.count()
    response = login(team.owner).post(reverse("projects:create"), {"name": name}, follow=True)
    assert response.redirect_chain == [(reverse("projects:create"), 302)]
    assert response.context["form"].errors["name"]
    assert Project.objects.count() == count


def test_rename(login, team):
    login(team.admin).post(reverse("projects:rename", args=[team.project.pk]), {"name": "Acme 2"})
    team.project.refresh_from_db()
    assert team.project.name == "Acme 2"


def test_rename_rejects_empty_name_and_changes_nothing(login, team):
    response = login(team.admin).post(reverse("projects:rename", args=[team.project.pk]), {"name": ""}, follow=True)
    assert response.redirect_chain == [(reverse("projects:settings", args=[team.project.pk]), 302)]
    assert "This field is required." in response.content.decode()
    team.project.refresh_from_db()
    assert team.project.name == "Acme"


def test_delete_needs_the_typed_name(login, team):
    client = login(team.owner)
    response = client.post(reverse("projects:delete", args=[team.project.pk]), {"confirm_name": "acme"}, follow=True)
    assert response.redirect_chain == [(reverse("projects:settings", args=[team.project.pk]), 302)]
    assert "does not match" in response.content.decode()
    assert Project.objects.live().filter(pk=team.project.pk).exists()
    response = client.post(reverse("projects:delete", args=[team.project.pk]), {"confirm_name": "Acme"})
    assert response["Location"] == reverse("projects:list")
    assert not Project.objects.live().filter(pk=team.project.pk).exists()


def test_admin_cannot_delete_project(login, team):
    response = login(team.admin).post(reverse("projects:delete", args=[team.project.pk]), {"confirm_name": "Acme"})
    assert response.status_code == 403
    assert Project.objects.live().filter(pk=team.project.pk).exists()


def test_new_secret_is_shown_once_then_masked(login, team):
    client = login(team.admin)
    response = client.post(
        reverse("projects:key_create", args=[team.project.pk]), {"label": "CI", "scopes": all_scopes()}, follow=True
    )
    key = team.project.secret_keys.get(label="CI")
    assert key.secret in response.content.decode()
    again = client.get(reverse("projects:keys", args=[team.project.pk])).content.decode()
    assert key.secret not in again
    assert key.last4 in again
    words = " ".join(again.split())
    assert "shown in full only once" in words and "create a new key below" in words  # how to get one back
    assert response.headers["Cache-Control"] == "no-store"


def test_a_new_secret_waits_for_its_own_projects_keys_page(login, team):
    other = project_create(owner=team.admin, name="Other")
    client = login(team.admin)
    client.post(reverse("projects:key_create", args=[team.project.pk]), {"label": "CI", "scopes": all_scopes()})
    key = team.project.secret_keys.get(label="CI")
    assert key.secret not in client.get(reverse("projects:keys", args=[other.pk])).content.decode()
    assert key.secret in client.get(reverse("projects:keys", args=[team.project.pk])).content.decode()


def test_key_create_rejects_empty_label(login, team):
    count = team.project.secret_keys.count()
    response = login(team.admin).post(
        reverse("projects:key_create", args=[team.project.pk]), {"label": ""}, follow=True
    )
    assert response.redirect_chain == [(reverse("projects:keys", args=[team.project.pk]), 302)]
    assert "This field is required." in response.content.decode()
    assert team.project.secret_keys.count() == count


def test_revoke_key(login, team):
    key = team.project.secret_keys.get()
    login(team.admin).post(reverse("projects:key_revoke", args=[team.project.pk, key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_invite_then_accept_by_signing_up(client, team, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(team.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("projects:invite", args=[team.project.pk]), {"email": "newbie@example.com", "role": "member"}
        )
    invitation = Invitation.objects.get(email="newbie@example.com")
    assert invitation.token in mailoutbox[-1].body
    client.logout()

    page = client.get(reverse("projects:invitation", args=[invitation.token]))
    assert "Sign up" in page.content.decode()
    signup = client.post(
        reverse("account_signup") + f"?next={reverse('projects:invitation', args=[invitation.token])}",
        {"email": "newbie@example.com", "password1": "s3cure-passw0rd!", "password2": "s3cure-passw0rd!"},
    )
    # Holding the emailed link proves the address: no second verification round.
    assert signup["Location"] == reverse("projects:invitation", args=[invitation.token])
    accept = client.post(reverse("projects:invitation", args=[invitation.token]))
    assert accept["Location"] == reverse("projects:overview", args=[team.project.pk])
    assert team.project.memberships.get(user__email="newbie@example.com").role == Role.MEMBER
    # The invited person works in the project they were invited to: no empty "Default project".
    newbie = team.project.memberships.get(user__email="newbie@example.com").user
    assert [project.name for project in Project.objects.for_user(newbie)] == ["Acme"]


def test_an_uninvited_sign_up_gets_its_default_project(client, db):
    client.post(
        reverse("account_signup"),
        {"email": "solo@example.com", "password1": "s3cure-passw0rd!", "password2": "s3cure-passw0rd!"},
    )
    owned = Project.objects.filter(memberships__user__email="solo@example.com", memberships__role=Role.OWNER)
    assert list(owned.values_list("name", flat=True)) == ["Default project"]


@pytest.mark.parametrize(
    "data", [{"email": "not-an-email", "role": "member"}, {"email": "a@example.com", "role": "owner"}]
)
def test_invite_rejects_bad_input(login, team, data):
    response = login(team.admin).post(reverse("projects:invite", args=[team.project.pk]), data, follow=True)
    assert response.redirect_chain == [(reverse("projects:collaborators", args=[team.project.pk]), 302)]
    assert 'class="error"' in response.content.decode() or "errorlist" in response.content.decode()
    assert not Invitation.objects.exists()


def test_invite_existing_member_shows_error(login, team):
    response = login(team.admin).post(
        reverse("projects:invite", args=[team.project.pk]), {"email": team.viewer.email, "role": "member"}, follow=True
    )
    assert response.redirect_chain == [(reverse("projects:collaborators", args=[team.project.pk]), 302)]
    assert "already a collaborator" in response.content.decode()


def test_change_role_and_remove(login, team):
    client = login(team.admin)
    viewer = team.project.memberships.get(user=team.viewer)
    client.post(reverse("projects:change_role", args=[team.project.pk, viewer.pk]), {"role": "member"})
    viewer.refresh_from_db()
    assert viewer.role == Role.MEMBER
    client.post(reverse("projects:remove", args=[team.project.pk, viewer.pk]))
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_admin_cannot_change_owner_role(login, team):
    owner = team.project.memberships.get(user=team.owner)
    response = login(team.admin).post(
        reverse("projects:change_role", args=[team.project.pk, owner.pk]), {"role": "viewer"}, follow=True
    )
    assert "transferring ownership" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_member_leaves(login, team):
    response = login(team.member).post(reverse("projects:leave", args=[team.project.pk]))
    assert response.status_code == 302
    assert not team.project.memberships.filter(user=team.member).exists()


def test_owner_cannot_leave(login, team):
    login(team.owner).post(reverse("projects:leave", args=[team.project.pk]))
    assert team.project.memberships.filter(user=team.owner, role=Role.OWNER).exists()


def test_transfer_ownership(login, team):
    admin = team.project.memberships.get(user=team.admin)
    login(team.owner).post(reverse("projects:transfer", args=[team.project.pk]), {"membership": admin.pk})
    assert team.project.memberships.get(role=Role.OWNER).user == team.admin


def test_transfer_to_an_outsider_membership_is_refused(login, team):
    foreign = team.outsider.memberships.get()
    response = login(team.owner).post(
        reverse("projects:transfer", args=[team.project.pk]), {"membership": foreign.pk}, follow=True
    )
    assert response.redirect_chain == [(reverse("projects:collaborators", args=[team.project.pk]), 302)]
    assert "Select a valid choice" in response.content.decode()
    assert team.project.memberships.get(role=Role.OWNER).user == team.owner


def test_signup_gives_a_default_project_with_keys(client, db, mailoutbox):
    client.post(
        reverse("account_signup"),
        {"email": "fresh@example.com", "password1": "s3cure-passw0rd!", "password2": "s3cure-passw0rd!"},
    )
    project = Project.objects.get(memberships__user__email="fresh@example.com")
    assert project.name == "Default project"
    assert project.secret_keys.active().count() == 1
    assert "confirm" in mailoutbox[0].subject.lower()


def test_upload_settings_are_saved(login, team):
    response = login(team.admin).post(
        reverse("projects:uploads", args=[team.project.pk]),
        {
            "autostore_enabled": "",
            "require_signed_uploads": "on",
            "max_file_size_mb": "25",
            "allowed_mime_types": "image/*, Application/PDF",
        },
    )
    assert response.status_code == 302
    team.project.refresh_from_db()
    assert not team.project.autostore_enabled and team.project.require_signed_uploads
    assert team.project.max_file_size == 25 * 1024 * 1024
    assert team.project.allowed_mime_types == "image/*, application/pdf"


def test_upload_safety_settings_are_shown_and_saved(login, team):
    client = login(team.admin)
    page = client.get(reverse("projects:settings", args=[team.project.pk])).content.decode()
    assert 'name="svg_validation"' in page and 'name="strip_exif"' in page and 'value="location"' in page
    data = {"autostore_enabled": "on", "allowed_mime_types": "", "svg_validation": "on", "strip_exif": "location"}
    assert client.post(reverse("projects:uploads", args=[team.project.pk]), data).status_code == 302
    team.project.refresh_from_db()
    assert team.project.svg_validation and team.project.strip_exif == "location"
    data = {**data, "svg_validation": "", "strip_exif": "all"}
    assert client.post(reverse("projects:uploads", args=[team.project.pk]), data).status_code == 302
    team.project.refresh_from_db()
    assert not team.project.svg_validation and team.project.strip_exif == "all"


def test_malware_and_moderation_settings_are_saved(login, team):
    client = login(team.admin)
    data = {"malware_protection": "remove", "moderation": "flag", "moderation_threshold": "70"}
    assert client.post(reverse("projects:safety", args=[team.project.pk]), data).status_code == 302
    team.project.refresh_from_db()
    assert (team.project.malware_protection, team.project.moderation, team.project.moderation_threshold) == (
        "remove",
        "flag",
        70,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("allowed_mime_types", "images", "is not a MIME type"),
        ("max_file_size_mb", "0", "greater than or equal to 1"),
        ("max_file_size_mb", "99999999", "The server accepts at most"),
    ],
)
def test_upload_settings_reject_bad_values_and_change_nothing(login, team, field, value, message):
    data = {"autostore_enabled": "on", "allowed_mime_types": "", field: value}
    response = login(team.admin).post(reverse("projects:uploads", args=[team.project.pk]), data, follow=True)
    assert response.redirect_chain == [(reverse("projects:settings", args=[team.project.pk]), 302)]
    assert message in response.content.decode()
    team.project.refresh_from_db()
    assert team.project.allowed_mime_types == "" and team.project.max_file_size is None


def test_member_cannot_change_upload_settings(login, team):
    response = login(team.member).post(reverse("projects:uploads", args=[team.project.pk]), {"autostore_enabled": ""})
    assert response.status_code == 403
    team.project.refresh_from_db()
    assert team.project.autostore_enabled


def test_an_expired_invitation_does_not_open_signup_on_a_closed_server(client, team, settings):
    from datetime import timedelta

    settings.SIGNUP_OPEN = False
    invitation = Invitation.objects.create(project=team.project, email="late@example.com", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(created_at=invitation.created_at - timedelta(days=400))
    client.get(reverse("projects:invitation", args=[invitation.token]))
    response = client.post(
        reverse("account_signup"),
        {"email": "late@example.com", "password1": "s3cure-passw0rd!", "password2": "s3cure-passw0rd!"},
    )
    assert response.status_code == 200 and "Sign Up Closed" in response.content.decode()
    from accounts.models import User

    assert not User.objects.filter(email="late@example.com").exists()


def test_a_403_is_a_page_with_the_reason_and_a_way_back(login, team):
    response = login(team.viewer).get(reverse("projects:keys", args=[team.project.pk]))
    page = response.content.decode()
    assert response.status_code == 403 and 'data-testid="error-page"' in page
    assert "This needs the admin role or higher." in page and reverse("projects:home") in page


def test_a_404_and_a_500_are_pages_of_their_own(client, settings):
    from django.template.loader import render_to_string

    settings.DEBUG = False
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404 and "There is nothing at <code>/no/such/page/</code>" in page
    assert "Something went wrong" in render_to_string("500.html")  # rendered without a request context


def test_a_key_used_a_moment_ago_reads_just_now(login, team):
    from django.utils import timezone

    key = team.project.secret_keys.get()
    key.last_used_at = timezone.now()
    key.save()
    page = login(team.admin).get(reverse("projects:keys", args=[team.project.pk])).content.decode()
    assert "just now" in page and "0\xa0minutes ago" not in page


def test_the_switcher_says_whose_each_project_is_and_the_role_held(login, team):
    response = login(team.member).get(reverse("projects:overview", args=[team.project.pk]))
    assert 'data-testid="switcher-owner">owner@example.com · member</small>' in response.content.decode()
    listed = [p.pk for p in response.context["switcher_projects"]]
    assert listed.count(team.project.pk) == 1  # once, though four people are members
    mine = login(team.outsider).get(reverse("projects:list")).content.decode()
    assert 'data-testid="switcher-owner">yours</small>' in mine
