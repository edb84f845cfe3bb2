"""REST v0.7 `files/remote_copy/` against a real S3 API (moto_server): the bucket receives the bytes
under the pattern's key, public or not, and every refusal is a 400 naming its field."""

import pytest
from django.urls import reverse

from files import remote_copy
from files.models import File
from files.services import file_delete
from projects.models import Project
from tests.factories import make_bucket, make_file
from tests.helpers import png_bytes, renderers_busy, s3

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def upload(project, name="report.final.txt", data=b"hello bucket") -> File:
    return make_file(project, name=name, data=data)


def public(endpoint: str, bucket: str, key: str) -> bool:
    grants = s3(endpoint).get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants)


def test_the_bucket_receives_the_copy_under_the_default_pattern(api, team, moto_endpoint, customer_bucket):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup", prefix="fd/")
    file = upload(team.project)
    response = api("post", "files/remote_copy/", {"source": str(file.uuid), "target": customer_bucket})
    assert response.status_code == 200
    key = f"fd/{file.uuid}/report.final.txt"
    assert response.json() == {"type": "url", "result": f"s3://{customer_bucket}/{key}"}
    got = s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=key)
    assert got["Body"].read() == b"hello bucket" and got["ContentType"] == "text/plain"
    assert public(moto_endpoint, customer_bucket, key)


def test_a_pattern_and_make_public_false(api, team, moto_endpoint, customer_bucket):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    file = upload(team.project)
    body = {"source": f"https://cdn.example/{file.uuid}/", "target": customer_bucket, "make_public": False}
    response = api("post", "files/remote_copy/", {**body, "pattern": "copies/${filename}-${uuid}${ext}"})
    key = f"copies/report.final-{file.uuid}.txt"
    assert response.json()["result"] == f"s3://{customer_bucket}/{key}"
    assert not public(moto_endpoint, customer_bucket, key)
    again = api("post", "files/remote_copy/", {**body, "pattern": "copies/${filename}-${uuid}${ext}"})
    assert again.status_code == 400 and "already exists" in again.json()["pattern"][0]


def test_operations_copy_the_rendered_image(api, team, moto_endpoint, customer_bucket):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup")
    file = upload(team.project, "pic.png", png_bytes())
    response = api("post", "files/remote_copy/", {"source": f"{file.uuid}/-/format/jpeg/", "target": customer_bucket})
    assert response.status_code == 200, response.json()
    key = response.json()["result"].removeprefix(f"s3://{customer_bucket}/")
    assert key == f"{file.uuid}/pic-/format/jpeg/.jpg"
    assert s3(moto_endpoint).get_object(Bucket=customer_bucket, Key=key)["Body"].read()[:3] == b"\xff\xd8\xff"


def test_operations_on_a_non_image_are_400_and_busy_renderers_503(api, team, moto_endpoint, customer_bucket, settings):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup")
    text, image = upload(team.project), upload(team.project, "pic.png", png_bytes())
    response = api("post", "files/remote_copy/", {"source": f"{text.uuid}/-/format/jpeg/", "target": customer_bucket})
    assert response.status_code == 400 and response.json() == {"detail": "Image operations apply to images only."}
    settings.FILEDOCK_CDN_RENDER_WAIT = 0
    with renderers_busy():
        busy = api("post", "files/remote_copy/", {"source": f"{image.uuid}/-/format/jpeg/", "target": customer_bucket})
    assert busy.status_code == 503 and "busy" in busy.json()["detail"]
    assert "Contents" not in s3(moto_endpoint).list_objects_v2(Bucket=customer_bucket)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": "nope"}, "target"),
        ({"target": "{bucket}", "pattern": "${uuid}/${nope}"}, "pattern"),
        ({"target": "{bucket}", "make_public": "maybe"}, "make_public"),
        ({}, "target"),
    ],
)
def test_refusals_name_their_field(api, team, moto_endpoint, customer_bucket, body, field):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup")
    file = upload(team.project)
    body = {k: v.replace("{bucket}", customer_bucket) if isinstance(v, str) else v for k, v in body.items()}
    response = api("post", "files/remote_copy/", {"source": str(file.uuid), **body})
    assert response.status_code == 400
    assert field in response.json()
    assert "Contents" not in s3(moto_endpoint).list_objects_v2(Bucket=customer_bucket)


def test_another_projects_bucket_and_file_are_not_reachable(api, team, moto_endpoint, customer_bucket):
    other = Project.objects.exclude(pk=team.project.pk).get()
    make_bucket(other, moto_endpoint, customer_bucket, purpose="backup")
    copy = {"source": str(upload(team.project).uuid), "target": customer_bucket}
    assert api("post", "files/remote_copy/", copy).status_code == 400
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="storage")
    theirs = {"source": str(upload(other).uuid), "target": customer_bucket}
    assert api("post", "files/remote_copy/", theirs).status_code == 404


def test_removed_and_too_large_files_are_refused(api, team, moto_endpoint, customer_bucket, monkeypatch):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup")
    gone = upload(team.project)
    file_delete(file=gone)
    assert api("post", "files/remote_copy/", {"source": str(gone.uuid), "target": customer_bucket}).status_code == 404
    monkeypatch.setattr(remote_copy, "MAX_SIZE", 5)
    response = api("post", "files/remote_copy/", {"source": str(upload(team.project).uuid), "target": customer_bucket})
    assert response.status_code == 400 and "source" in response.json()


def test_the_storage_page_names_each_bucket_as_a_remote_copy_target(login, team, moto_endpoint, customer_bucket):
    make_bucket(team.project, moto_endpoint, customer_bucket, purpose="backup", prefix="fd/")
    page = login(team.owner).get(reverse("files:storage:index", args=[team.project.pk])).content.decode()
    assert f"<dt>Remote copy target</dt><dd><code>{customer_bucket}</code>" in page
