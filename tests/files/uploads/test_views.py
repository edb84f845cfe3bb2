"""The Upload API through HTTP: shapes, limits, signatures and errors. Nothing half-written."""

import os
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import Event, File, Group, MultipartUpload
from tests.factories import make_key
from tests.helpers import PART, api_upload, blobs, png_bytes, sign


@pytest.fixture
def project(team):
    return team.project


def test_direct_upload_returns_uuid_per_field_and_stores_bytes(client, project):
    response = api_upload(
        client,
        project,
        {"photo.png": SimpleUploadedFile("photo.png", png_bytes()), "notes": SimpleUploadedFile("notes.txt", b"hello")},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"photo.png", "notes"}
    photo = File.objects.get(uuid=body["photo.png"])
    assert photo.mime_type == "image/png" and photo.image_info["width"] == 40 and photo.image_info["height"] == 30
    assert photo.is_stored  # automatic storing is on by default
    with default_storage.open(photo.storage_key) as stored:
        assert stored.read() == png_bytes()
    notes = File.objects.get(uuid=body["notes"])
    assert notes.mime_type == "text/plain" and notes.original_filename == "notes.txt"
    assert photo.source == notes.source == "upload"  # the detail page's and the REST info's "source"
    assert Event.objects.filter(type="file.uploaded").count() == 2


def test_cors_headers_for_browser_clients(client, project):
    response = client.options("/upload/base/")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("store", "autostore", "stored"),
    [
        ("1", False, True),
        ("0", True, False),
        ("auto", True, True),
        ("auto", False, False),
        (None, False, False),
        ("", True, True),  # an empty field is one not given: the project decides
        ("", False, False),
    ],
)
def test_store_flag_against_project_setting(client, project, store, autostore, stored):
    project.autostore_enabled = autostore
    project.save()
    fields = {"UPLOADCARE_STORE": store} if store is not None else {}
    body = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **fields).json()
    assert File.objects.get(uuid=body["f"]).is_stored is stored


def test_content_type_is_sniffed_not_trusted(client, project):
    body = api_upload(
        client, project, {"f": SimpleUploadedFile("fake.png", b"plain text, not a png", "image/png")}
    ).json()
    file = File.objects.get(uuid=body["f"])
    assert file.mime_type == "text/plain" and not file.is_image


def test_path_traversal_names_are_only_names(client, project):
    body = api_upload(client, project, {"f": SimpleUploadedFile("../../etc/passwd", b"x")}).json()
    file = File.objects.get(uuid=body["f"])
    assert file.original_filename == "passwd"
    assert file.storage_key == f"files/{project.pk}/{file.uuid}"


def test_metadata_fields(client, project):
    body = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **{"metadata[kind]": "avatar"}).json()
    assert File.objects.get(uuid=body["f"]).metadata == {"kind": "avatar"}


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"UPLOADCARE_PUB_KEY": ""}, 403, "UPLOADCARE_PUB_KEY is required."),
        ({"UPLOADCARE_PUB_KEY": "nope"}, 403, "UPLOADCARE_PUB_KEY is invalid."),
        ({"UPLOADCARE_STORE": "maybe"}, 400, "UPLOADCARE_STORE must be 0, 1 or auto."),
        ({"metadata[bad key!]": "v"}, 400, "contains symbols not allowed"),
    ],
)
def test_bad_fields_are_refused_and_leave_nothing(client, project, fields, status, message):
    before = blobs()
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **fields)
    assert response.status_code == status
    assert message in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert not File.objects.exists() and blobs() == before


# Codes and statuses from Uploadcare's Upload API error table; 50 keys and 512 characters from its metadata docs.
@pytest.mark.parametrize(
    ("metadata", "code", "named"),
    [
        ({"k": ""}, "FileMetadataValueEmptyError", "`k`"),
        ({"k": "v" * 513}, "FileMetadataValueLengthTooBigError", "`k`"),
        ({f"k{i}": "v" for i in range(51)}, "FileMetadataKeysNumberTooBigError", "50"),
    ],
)
def test_metadata_refusals_carry_their_error_codes(client, project, metadata, code, named):
    fields = {f"metadata[{key}]": value for key, value in metadata.items()}
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, jsonerrors="1", **fields)
    error = response.json()["error"]
    assert (error["status_code"], error["error_code"]) == (400, code)
    assert named in error["content"]  # the message names the key, or the limit on keys
    assert not File.objects.exists()


def test_fifty_metadata_keys_of_512_characters_are_taken(client, project):
    fields = {f"metadata[k{i}]": "v" * 512 for i in range(50)}
    body = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **fields).json()
    assert len(File.objects.get(uuid=body["f"]).metadata) == 50


def test_no_file_is_an_error(client, project):
    response = client.post("/upload/base/", {"UPLOADCARE_PUB_KEY": project.public_key})
    assert response.status_code == 400 and response.content == b"Request does not contain files."


def test_jsonerrors_gives_code_in_json(client, project):
    response = client.post("/upload/base/?jsonerrors=1", {"UPLOADCARE_PUB_KEY": "nope"})
    assert response.status_code == 200
    assert response.json() == {
        "error": {
            "content": "UPLOADCARE_PUB_KEY is invalid.",
            "status_code": 403,
            "error_code": "ProjectPublicKeyInvalidError",
        }
    }


def test_too_large_file_is_refused_and_leaves_nothing(client, project):
    project.max_file_size = 10
    project.save()
    before = blobs()
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x" * 11)})
    assert response.status_code == 400 and response.content == b"File is too large."
    assert not File.objects.exists() and blobs() == before
    # The limit itself is allowed: a file of exactly the project's maximum size is taken.
    body = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x" * 10)}).json()
    assert File.objects.get(uuid=body["f"]).size == 10


def test_disallowed_type_is_refused_and_leaves_nothing(client, project):
    project.allowed_mime_types = "image/*, application/pdf"
    project.save()
    before = blobs()
    refused = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"text")})
    assert refused.status_code == 400 and refused.content == b"Uploading of these file types is not allowed."
    assert not File.objects.exists() and blobs() == before
    assert api_upload(client, project, {"f": SimpleUploadedFile("a.png", png_bytes())}).status_code == 200


def test_empty_file_is_accepted_as_zero_bytes(client, project):
    body = api_upload(client, project, {"f": SimpleUploadedFile("empty.txt", b"")}).json()
    assert File.objects.get(uuid=body["f"]).size == 0


def test_deleted_project_key_is_refused(client, project):
    from projects.services import project_delete

    project_delete(project=project)
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")})
    assert response.status_code == 403 and b"marked as removed" in response.content


class TestSignedUploads:
    @pytest.fixture
    def signed(self, project):
        project.require_signed_uploads = True
        project.save()
        return project, project.secret_keys.get().secret

    def test_valid_signature_from_any_active_key(self, client, signed):
        project, _ = signed

        _, second = make_key(project, label="second")
        expire = int(time.time()) + 60
        response = api_upload(
            client,
            project,
            {"f": SimpleUploadedFile("f.txt", b"x")},
            expire=str(expire),
            signature=sign(second, expire),
        )
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("case", "status", "message"),
        [
            ("missing", 400, "`signature` is required."),
            ("no_expire", 400, "`expire` is required."),
            ("bad_expire", 400, "`expire` must be a UNIX timestamp."),
            ("expired", 403, "Expired signature."),
            ("wrong", 403, "Invalid signature."),
            ("revoked", 403, "Invalid signature."),
        ],
    )
    def test_bad_signatures_are_refused(self, client, signed, case, status, message):
        project, secret = signed
        expire = int(time.time()) + 60
        fields = {
            "missing": {"expire": str(expire)},
            "no_expire": {"signature": sign(secret, expire)},
            "bad_expire": {"expire": "soon", "signature": "ab"},
            "expired": {"expire": str(expire - 120), "signature": sign(secret, expire - 120)},
            "wrong": {"expire": str(expire), "signature": sign("not-the-secret", expire)},
            "revoked": {"expire": str(expire), "signature": sign(secret, expire)},
        }[case]
        if case == "revoked":
            project.secret_keys.update(revoked_at=project.created_at)
        response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **fields)
        assert (response.status_code, response.content.decode()) == (status, message)
        assert not File.objects.exists()

    def test_a_non_ascii_signature_is_invalid_not_a_server_error(self, client, signed):
        project, _ = signed
        expire = int(time.time()) + 60
        response = api_upload(
            client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, expire=str(expire), signature="é" * 64
        )
        assert (response.status_code, response.content.decode()) == (403, "Invalid signature.")


class TestMultipart:
    def start(self, client, project, size, **fields):
        data = {
            "UPLOADCARE_PUB_KEY": project.public_key,
            "filename": "/tmp/some/dir/big.bin",
            "size": str(size),
            "content_type": "application/octet-stream",
            **fields,
        }
        return client.post("/upload/multipart/start/", data)

    def put(self, client, url, body):
        return client.generic(
            "PUT", url.replace("http://testserver", ""), body, content_type="application/octet-stream"
        )

    def test_start_parts_complete(self, client, project):
        size = PART * 2 + 123
        started = self.start(client, project, size).json()
        assert len(started["parts"]) == 3
        data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        for i, url in enumerate(started["parts"]):
            assert self.put(client, url, data[i * PART : (i + 1) * PART]).status_code == 200
        done = client.post(
            "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]}
        )
        info = done.json()
        assert info["uuid"] == started["uuid"] and info["size"] == size and info["original_filename"] == "big.bin"
        file = File.objects.get(uuid=started["uuid"])
        with default_storage.open(file.storage_key) as stored:
            assert stored.read() == data
        assert not default_storage.exists(f"parts/{started['uuid']}/0")

    def test_parts_in_any_order_and_resent_make_the_file_and_leave_nothing_behind(self, client, project):
        size = PART * 2 + 7
        started = self.start(client, project, size).json()
        data = os.urandom(size)
        for i in (2, 0, 1, 0):  # reversed, and part 1 sent twice
            assert self.put(client, started["parts"][i], data[i * PART : (i + 1) * PART]).status_code == 200
        done = client.post(
            "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]}
        )
        with default_storage.open(File.objects.get(uuid=done.json()["uuid"]).storage_key) as stored:
            assert stored.read() == data
        assert not default_storage.exists(f"parts/{started['uuid']}")
        again = client.post(
            "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]}
        )
        assert again.status_code == 400 and b"already uploaded" in again.content

    def test_interrupted_upload_cannot_complete_and_is_swept(self, client, project):
        started = self.start(client, project, PART + 10).json()
        self.put(client, started["parts"][0], b"a" * PART)
        done = client.post(
            "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": started["uuid"]}
        )
        assert done.status_code == 400 and b"Not all parts uploaded" in done.content
        assert not File.objects.exists()
        from files.uploads.multipart import multipart_sweep_abandoned

        assert multipart_sweep_abandoned(older_than_seconds=0) == 1
        assert not MultipartUpload.objects.exists()
        assert not default_storage.exists(f"parts/{started['uuid']}/0")

    def test_part_url_needs_its_token(self, client, project):
        started = self.start(client, project, 100).json()
        url = started["parts"][0].split("?")[0] + "?token=forged"
        assert self.put(client, url, b"x" * 100).status_code == 403

    def test_wrong_part_size_is_refused(self, client, project):
        started = self.start(client, project, 100).json()
        response = self.put(client, started["parts"][0], b"x" * 99)
        assert response.status_code == 400

    @pytest.mark.parametrize("size", ["", "abc", "-5"])
    def test_bad_size(self, client, project, size):
        response = self.start(client, project, size)
        assert response.status_code == 400
        assert not MultipartUpload.objects.exists()

    def test_too_large_declared_size(self, client, project):
        project.max_file_size = 1000
        project.save()
        assert self.start(client, project, 1001).status_code == 400

    def test_complete_for_unknown_or_malformed_uuid(self, client, project):
        for value, status in (("not-a-uuid", 400), ("6f7d1a53-0000-4000-8000-000000000000", 404)):
            response = client.post(
                "/upload/multipart/complete/", {"UPLOADCARE_PUB_KEY": project.public_key, "uuid": value}
            )
            assert response.status_code == status


def test_info(client, project, team):
    body = api_upload(client, project, {"f": SimpleUploadedFile("a.png", png_bytes())}).json()
    info = client.get("/upload/info/", {"pub_key": project.public_key, "file_id": body["f"]}).json()
    assert info["uuid"] == body["f"] and info["is_image"] and info["image_info"]["format"] == "PNG"
    outsider_key = team.outsider.memberships.get().project.public_key
    foreign = client.get("/upload/info/", {"pub_key": outsider_key, "file_id": body["f"]})
    assert foreign.status_code == 404
    assert client.get("/upload/info/", {"pub_key": project.public_key, "file_id": "zzz"}).status_code == 404


def test_group_create_and_info(client, project, team):
    uuids = [api_upload(client, project, {"f": SimpleUploadedFile(f"{i}.txt", b"x")}).json()["f"] for i in range(2)]
    response = client.post(
        "/group//",
        {
            "pub_key": project.public_key,
            "files[0]": f"http://cdn.example/{uuids[0]}/",
            "files[1]": f"{uuids[1]}/-/resize/10x10/",
        },
    )
    assert response.status_code == 200
    group = response.json()
    assert group["id"].endswith("~2") and group["files_count"] == 2
    assert [f["uuid"] for f in group["files"]] == uuids
    assert group["files"][1]["default_effects"] == "resize/10x10/"
    info = client.get("/upload/group/info/", {"pub_key": project.public_key, "group_id": group["id"]}).json()
    assert info["id"] == group["id"]
    outsider_key = team.outsider.memberships.get().project.public_key
    assert client.post("/upload/group/", {"pub_key": outsider_key, "files[0]": uuids[0]}).status_code == 400
    assert client.post("/upload/group/", {"pub_key": project.public_key, "files[0]": "nonsense"}).status_code == 400
    assert client.post("/upload/group/", {"pub_key": project.public_key}).status_code == 400
    assert Group.objects.count() == 1


def test_a_refused_file_leaves_none_of_the_request_behind(client, project):
    project.allowed_mime_types = "image/*"
    project.save()
    before = blobs()
    response = api_upload(
        client, project, {"a": SimpleUploadedFile("a.png", png_bytes()), "b": SimpleUploadedFile("b.txt", b"text")}
    )
    assert response.status_code == 400
    assert not File.objects.exists() and blobs() == before


@pytest.mark.parametrize("expire", ["²", "１２"])
def test_non_ascii_digits_in_expire_are_a_clear_error(client, project, expire):
    project.require_signed_uploads = True
    project.save()
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, expire=expire, signature="ab")
    assert response.status_code == 400 and b"UNIX timestamp" in response.content


# --- NUL characters, which PostgreSQL cannot store, are refused as invalid input (found by tests/fuzz) ---


def test_a_public_key_with_nul_is_invalid(client, project):
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, UPLOADCARE_PUB_KEY="a\x00b")
    assert (response.status_code, response.content.decode()) == (403, "UPLOADCARE_PUB_KEY is invalid.")


def test_a_metadata_value_with_nul_is_invalid(client, project):
    response = api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}, **{"metadata[k]": "a\x00"})
    assert (response.status_code, response.content.decode()) == (400, "metadata[k] is invalid.")
    assert not File.objects.exists()


def test_a_group_file_ref_with_nul_is_invalid(client, project):
    file = File.objects.get(uuid=api_upload(client, project, {"f": SimpleUploadedFile("f.txt", b"x")}).json()["f"])
    response = client.post("/upload/group/", {"pub_key": project.public_key, "files[0]": f"{file.uuid}/-/resize/\x00/"})
    assert response.status_code == 400 and response.content.startswith(b"This is not valid file url")
    assert not Group.objects.exists()


def test_a_multipart_content_type_with_nul_is_invalid(client, project):
    response = client.post(
        "/upload/multipart/start/",
        {
            "UPLOADCARE_PUB_KEY": project.public_key,
            "filename": "a.bin",
            "size": str(11 * PART),
            "content_type": "a\x00/b",
        },
    )
    assert (response.status_code, response.content.decode()) == (400, "content_type is invalid.")
    assert not MultipartUpload.objects.exists()
