"""Signed delivery: a project's CDN and group URLs answer only with a token one of its delivery
secrets signed, as pyuploadcare's secure URL builders (unmodified) make them."""

import hashlib
import hmac
import re
import time

import pytest
from django.urls import reverse
from pyuploadcare.secure_url import AkamaiSecureUrlBuilderWithAclToken, AkamaiSecureUrlBuilderWithUrlToken

from accounts.models import AuditEvent
from core import urltokens
from files.models import File
from files.uploads.groups import group_create
from projects.models import Project
from projects.services import (
    DeliveryError,
    delivery_secret_create,
    delivery_secret_delete,
    project_configure_delivery,
)
from tests.factories import make_file
from tests.helpers import image_bytes

DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"

# pyuploadcare's builders write https://{cdn}/…; the test client takes the absolute URL as it is.
CDN = "testserver/cdn"


def configure(project: Project, **changes) -> Project:
    values = {
        "signed_delivery": project.signed_delivery,
        "auto_format": project.auto_format,
        "default_quality": project.default_quality,
        "download_non_images": project.download_non_images,
        **changes,
    }
    return project_configure_delivery(project=project, **values)


@pytest.fixture
def signed(team):
    """The team's project with signed URLs on and one secret; yields (project, secret)."""
    _, secret = delivery_secret_create(project=team.project)
    configure(team.project, signed_delivery=True)
    return team.project, secret


@pytest.fixture
def photo(team) -> File:
    return make_file(team.project, data=image_bytes(40, 30), name="photo.jpg")


def test_unsigned_project_serves_without_a_token(client, team, photo):
    response = client.get(f"/cdn/{photo.uuid}/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")


def test_signed_project_refuses_a_url_without_a_token(client, signed, photo):
    for path in ("", "-/resize/10x/", "-/preview/", "photo.jpg", "detect_faces/"):
        response = client.get(f"/cdn/{photo.uuid}/{path}")
        assert response.status_code == 403, path
        assert b"needs a signed URL" in response.content


def test_pyuploadcare_acl_token_opens_the_original_and_only_it(client, signed, photo):
    _, secret = signed
    builder = AkamaiSecureUrlBuilderWithAclToken(CDN, secret)
    url = builder.build(str(photo.uuid))
    assert url.startswith(f"https://{CDN}/{photo.uuid}/?token=exp=")
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == photo_bytes(photo)
    token = url.partition("?")[2]
    # acl=/{uuid}/ names the original alone, not an operation on it
    assert client.get(f"https://{CDN}/{photo.uuid}/-/resize/10x/?{token}").status_code == 403


def test_pyuploadcare_wildcard_token_opens_every_operation(client, signed, photo):
    _, secret = signed
    token = AkamaiSecureUrlBuilderWithAclToken(CDN, secret).get_token(str(photo.uuid), wildcard=True)
    for path in ("", "-/resize/10x/", "-/preview/20x20/", "-/format/png/x.png"):
        response = client.get(f"/cdn/{photo.uuid}/{path}", {"token": token})
        assert response.status_code == 200, path
    other = make_file(signed[0], data=image_bytes(10, 10), name="other.jpg")
    assert client.get(f"/cdn/{other.uuid}/", {"token": token}).status_code == 403


def test_pyuploadcare_url_token_signs_one_url(client, signed, photo):
    _, secret = signed
    builder = AkamaiSecureUrlBuilderWithUrlToken(CDN, secret)
    # pyuploadcare 6 signs the path of what it is given, escaped (url=%2f{uuid}%2f-%2f…), and puts
    # it after its own CDN base: given a path it builds the URL (given a URL, it would join that
    # URL's whole path to the base too).
    url = builder.build(f"{photo.uuid}/-/resize/10x/")
    assert url.startswith(f"https://{CDN}/{photo.uuid}/-/resize/10x/?token=exp=")
    assert client.get(url).status_code == 200
    token = url.partition("?")[2]
    assert client.get(f"https://{CDN}/{photo.uuid}/-/resize/11x/?{token}").status_code == 403


def test_expired_tampered_and_foreign_tokens_are_refused(client, team, signed, photo):
    _, secret = signed
    expired = AkamaiSecureUrlBuilderWithAclToken(CDN, secret, window=-5).get_token(str(photo.uuid))
    answer = client.get(f"/cdn/{photo.uuid}/", {"token": expired})
    assert answer.status_code == 403 and b"expired" in answer.content

    good = AkamaiSecureUrlBuilderWithAclToken(CDN, secret, window=600).get_token(str(photo.uuid))
    fields = dict(part.split("=", 1) for part in good.split("~"))
    later = good.replace(f"exp={fields['exp']}", f"exp={int(fields['exp']) + 3600}")
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    wider = good.replace(f"acl=/{photo.uuid}/", "acl=/*")
    for token in (later, flipped, wider, "exp=abc~hmac=00", "hmac=00", good + "~extra=1"):
        assert client.get(f"/cdn/{photo.uuid}/", {"token": token}).status_code == 403, token

    elsewhere = team.outsider.memberships.get().project
    _, foreign = delivery_secret_create(project=elsewhere)
    token = AkamaiSecureUrlBuilderWithAclToken(CDN, foreign).get_token(str(photo.uuid))
    assert client.get(f"/cdn/{photo.uuid}/", {"token": token}).status_code == 403
    assert client.get(f"/cdn/{photo.uuid}/", {"token": good}).status_code == 200


def test_two_secrets_rotate_without_breaking_live_links(client, signed, photo):
    project, old = signed
    old_token = AkamaiSecureUrlBuilderWithAclToken(CDN, old).get_token(str(photo.uuid))
    new_row, new = delivery_secret_create(project=project)
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new_row.last4 == new[-4:]  # 256 random bits, shown as hex
    new_token = AkamaiSecureUrlBuilderWithAclToken(CDN, new).get_token(str(photo.uuid))
    assert client.get(f"/cdn/{photo.uuid}/", {"token": old_token}).status_code == 200
    assert client.get(f"/cdn/{photo.uuid}/", {"token": new_token}).status_code == 200

    with pytest.raises(DeliveryError) as refused:
        delivery_secret_create(project=project)
    assert str(refused.value) == (
        "A project has at most 2 delivery secrets: remove the old one once your apps sign with the new one."
    )
    delivery_secret_delete(secret=project.delivery_secrets.exclude(pk=new_row.pk).get())
    assert client.get(f"/cdn/{photo.uuid}/", {"token": old_token}).status_code == 403
    assert client.get(f"/cdn/{photo.uuid}/", {"token": new_token}).status_code == 200
    with pytest.raises(DeliveryError) as refused:
        delivery_secret_delete(secret=new_row)
    assert str(refused.value) == (
        "Signed URLs are on: turn them off, or generate another secret, before removing this one."
    )


def test_signed_answers_are_private_and_last_no_longer_than_the_token(client, signed, photo):
    _, secret = signed
    token = AkamaiSecureUrlBuilderWithAclToken(CDN, secret, window=120).get_token(str(photo.uuid))
    response = client.get(f"/cdn/{photo.uuid}/", {"token": token})
    scope, max_age = response["Cache-Control"].split(", ")
    assert scope == "private"
    assert 100 <= int(max_age.removeprefix("max-age=")) <= 120


def test_group_urls_need_a_token_for_the_group(client, signed, photo):
    project, secret = signed
    group = group_create(project=project, refs=[str(photo.uuid)])
    paths = (f"/cdn/{group.id}/", f"/cdn/{group.id}/nth/0/", f"/cdn/{group.id}/nth/0/-/resize/10x/")
    for path in paths:
        assert client.get(path).status_code == 403, path
    file_token = AkamaiSecureUrlBuilderWithAclToken(CDN, secret).get_token(str(photo.uuid), wildcard=True)
    assert client.get(f"{paths[1]}?token={file_token}").status_code == 403
    # As pyuploadcare builds it (the group id's "~" escaped as %7e in the ACL it signs), and as the
    # Delivery page's own snippet does (a literal "~"): both put in the URL as they are.
    group_token = AkamaiSecureUrlBuilderWithAclToken(CDN, secret).get_token(group.id, wildcard=True)
    assert "%7e" in group_token
    fields = f"exp={int(time.time()) + 60}~acl=/{group.id}/*"
    literal = f"{fields}~hmac={hmac.new(bytes.fromhex(secret), fields.encode(), hashlib.sha256).hexdigest()}"
    for token in (group_token, literal):
        for path in paths:
            assert client.get(f"{path}?token={token}").status_code == 200, (path, token)


def test_a_token_made_without_pyuploadcare_as_the_delivery_page_shows(client, signed, photo):
    _, secret = signed
    fields = f"exp={int(time.time()) + 60}~acl=/{photo.uuid}/*"
    mac = hmac.new(bytes.fromhex(secret), fields.encode(), hashlib.sha256).hexdigest()
    assert client.get(f"/cdn/{photo.uuid}/-/resize/5x/", {"token": f"{fields}~hmac={mac}"}).status_code == 200


def test_members_see_previews_of_a_signed_project(client, team, signed, photo):
    client.force_login(team.viewer)
    page = client.get(reverse("files:detail", args=[team.project.pk, photo.uuid]))
    preview = page.context["preview_url"]
    assert "?token=" in preview
    assert client.get(preview).status_code == 200
    listing = client.get(reverse("files:list", args=[team.project.pk]))
    thumbnail = listing.context["page"].rows[0].thumbnail_url
    assert "?token=" in thumbnail and client.get(thumbnail).status_code == 200
    # The copyable URL stays the plain one: the app signs it. The page's own link opens.
    assert "token" not in page.context["row"].cdn_url
    assert client.get(page.context["original_url"]).status_code == 200


def test_signed_urls_cannot_be_turned_on_without_a_secret(client, team):
    with pytest.raises(DeliveryError, match="Generate a delivery secret"):
        configure(team.project, signed_delivery=True)
    client.force_login(team.admin)
    response = client.post(
        reverse("projects:delivery_save", args=[team.project.pk]),
        {"signed_delivery": "on", "default_quality": "normal", "download_non_images": "on"},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("projects:delivery", args=[team.project.pk]), 302)]
    assert "Generate a delivery secret first" in response.content.decode()
    assert response.context["form"]["signed_delivery"].value()  # the form as it was sent
    team.project.refresh_from_db()
    assert not team.project.signed_delivery


def test_the_delivery_page_shows_a_new_secret_once_and_saves_settings(client, team):
    client.force_login(team.admin)
    page = reverse("projects:delivery", args=[team.project.pk])
    client.post(reverse("projects:delivery_secret_create", args=[team.project.pk]))
    secret = team.project.delivery_secrets.get()
    first = client.get(page).content.decode()
    assert secret.secret in first and "delivery secret" in first
    assert secret.secret not in client.get(page).content.decode()

    response = client.post(
        reverse("projects:delivery_save", args=[team.project.pk]),
        {"signed_delivery": "on", "auto_format": "on", "default_quality": "better"},
    )
    assert response.status_code == 302
    team.project.refresh_from_db()
    assert (team.project.signed_delivery, team.project.auto_format, team.project.default_quality) == (
        True,
        True,
        "better",
    )
    assert not team.project.download_non_images
    actions = list(AuditEvent.objects.filter(project=team.project).values_list("action", flat=True))
    assert "project.delivery_changed" in actions and "delivery_secret.created" in actions


def test_automatic_format_and_default_quality_apply_to_operation_urls(client, team, photo):
    url = f"/cdn/{photo.uuid}/-/resize/20x/"
    webp = {"HTTP_ACCEPT": "image/webp,*/*"}
    plain = client.get(url, **webp)
    assert plain["Content-Type"] == "image/jpeg" and "Vary" not in plain

    configure(team.project, auto_format=True)
    automatic = client.get(url, **webp)
    assert automatic["Content-Type"] == "image/webp" and automatic["Vary"] == "Accept"
    assert client.get(url)["Content-Type"] == "image/jpeg"  # a client that accepts neither
    assert client.get(url + "-/format/png/", **webp)["Content-Type"] == "image/png"  # the URL's own wins
    preview = client.get(f"/cdn/{photo.uuid}/-/preview/", **webp)  # a preview is an operation too
    assert preview["Content-Type"] == "image/webp" and preview["Vary"] == "Accept"

    assert client.get(f"/cdn/{photo.uuid}/-/preview/")["Content-Type"] == "image/jpeg"

    configure(team.project, auto_format=False)
    normal = b"".join(client.get(url).streaming_content)
    configure(team.project, default_quality="lightest")
    lightest = client.get(url)
    assert lightest["ETag"] != plain["ETag"]
    assert b"".join(lightest.streaming_content) != normal  # other quantisation tables
    explicit = client.get(url + "-/quality/normal/")
    assert b"".join(explicit.streaming_content) == normal


def test_non_images_are_downloads_unless_the_project_shows_them_in_place(client, team):
    text = make_file(team.project, data=b"hello", name="notes.txt")
    assert client.get(f"/cdn/{text.uuid}/")["Content-Disposition"].startswith("attachment")
    configure(team.project, download_non_images=False)
    assert client.get(f"/cdn/{text.uuid}/")["Content-Disposition"].startswith("inline")


def test_tokens_expire_on_the_hour_boundaries_used_for_previews():
    assert urltokens.expiry(3600, now=7200.5) == 3 * 3600 + 3600
    assert urltokens.seconds_left("exp=100~acl=/*~hmac=00", now=40) == 60


def photo_bytes(file: File) -> bytes:
    from files.storage.backends import storage_for

    with storage_for(file).open(file.storage_key, "rb") as stored:
        return stored.read()
