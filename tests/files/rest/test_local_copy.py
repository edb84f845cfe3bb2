"""REST v0.7 `files/local_copy/`: a copy in the project, with the image operations in its source
applied and the metadata given over the original's; every refusal leaves no file behind."""

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from files.models import Event, File
from files.services import file_delete
from tests.factories import make_file
from tests.helpers import png_bytes, renderers_busy


# Uploadcare's docs: `store` "MUST be either true or false"; pyuploadcare and the JS rest-client
# send a JSON boolean, and the strings are taken too.
@pytest.mark.parametrize(("sent", "store"), [(True, True), (False, False), ("true", True), ("false", False)])
def test_local_copy(api, team, sent, store):
    file = make_file(team.project, "photo.txt", data=b"original bytes", metadata={"k": "v"}, store=False)
    response = api("post", "files/local_copy/", {"source": f"{file.uuid}/", "store": sent})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "file"
    copy = File.objects.get(uuid=body["result"]["uuid"])
    assert response["Location"] == body["result"]["url"]
    assert copy.uuid != file.uuid and copy.project == team.project and copy.original_filename == "photo.txt"
    assert copy.is_stored is store and bool(body["result"]["datetime_stored"]) is store
    assert copy.metadata == {"k": "v"} and copy.source == "local_copy"
    with default_storage.open(copy.storage_key) as stored:
        assert stored.read() == b"original bytes"
    events = set(Event.objects.filter(file_uuid=copy.uuid).values_list("type", flat=True))
    assert events == ({"file.uploaded", "file.stored"} if store else {"file.uploaded"})


def test_local_copy_applies_the_image_operations_in_its_source(api, team):
    file = make_file(team.project, "photo.png", data=png_bytes(400, 200), store=False)
    source = f"https://cdn.example.com/{file.uuid}/-/resize/100x/-/format/jpeg/"
    body = api("post", "files/local_copy/", {"source": source}).json()
    copy = File.objects.get(uuid=body["result"]["uuid"])
    assert (copy.original_filename, copy.mime_type) == ("photo.jpg", "image/jpeg")
    with default_storage.open(copy.storage_key) as stored:
        assert Image.open(stored).size == (100, 50)
    assert body["result"]["content_info"]["image"]["width"] == 100 and body["result"]["size"] == copy.size


def test_local_copy_sets_the_given_metadata_over_the_originals(api, team):
    file = make_file(team.project, metadata={"keep": "1", "change": "old"}, store=False)
    body = api(
        "post", "files/local_copy/", {"source": str(file.uuid), "metadata": {"change": "new", "add": "x"}}
    ).json()
    assert File.objects.get(uuid=body["result"]["uuid"]).metadata == {"keep": "1", "change": "new", "add": "x"}
    assert File.objects.get(uuid=file.uuid).metadata == {"keep": "1", "change": "old"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{txt}/-/resize/10x10/", "Image operations apply to images only."),
        ("{png}/-/resize/10x10/-/nonsense/", "nonsense"),
    ],
)
def test_local_copy_refuses_operations_it_cannot_apply(api, team, source, message):
    txt, image = (
        make_file(team.project, store=False),
        make_file(team.project, "p.png", data=png_bytes(20, 20), store=False),
    )
    response = api("post", "files/local_copy/", {"source": source.format(txt=txt.uuid, png=image.uuid)})
    assert response.status_code == 400 and message in response.content.decode()
    assert File.objects.filter(project=team.project).count() == 2


def test_local_copy_with_operations_takes_a_source_of_up_to_100_mb(api, team):
    image = make_file(team.project, "p.png", data=png_bytes(40, 40), store=False)
    source = {"source": f"{image.uuid}/-/resize/10x10/"}
    File.objects.filter(pk=image.pk).update(size=100 * 1024 * 1024)  # the row's size is what is checked
    assert api("post", "files/local_copy/", source).status_code == 201
    File.objects.filter(pk=image.pk).update(size=100 * 1024 * 1024 + 1)
    response = api("post", "files/local_copy/", source)
    assert response.status_code == 400
    assert response.json() == {"detail": "A copy with image operations needs a source of at most 100 MB."}


def test_local_copy_refuses_an_operation_that_answers_with_json(api, team):
    image = make_file(team.project, "p.png", data=png_bytes(40, 40), store=False)
    response = api("post", "files/local_copy/", {"source": f"{image.uuid}/-/resize/10x10/-/json/"})
    assert response.status_code == 400
    assert response.json() == {"detail": "-/json/ answers with JSON; a copy is made of an image."}
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_of_an_image_whose_bytes_do_not_decode_is_400(api, team):
    """An image at upload whose stored bytes no longer decode (damaged where they are kept)."""
    broken = make_file(team.project, "p.png", data=png_bytes(40, 40), store=False)
    default_storage.delete(broken.storage_key)
    default_storage.save(broken.storage_key, ContentFile(b"\x89PNG\r\n\x1a\n but not one"))
    response = api("post", "files/local_copy/", {"source": f"{broken.uuid}/-/resize/10x10/"})
    assert response.status_code == 400
    assert response.json() == {"detail": "The file could not be decoded as an image."}
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_over_the_pixel_limit_is_400_with_the_limit(api, team, settings):
    image = make_file(team.project, "big.png", data=png_bytes(200, 200), store=False)
    settings.FILEDOCK_CDN_MAX_PIXELS = 10_000  # lowered after the upload, which would refuse it
    response = api("post", "files/local_copy/", {"source": f"{image.uuid}/-/resize/10x10/"})
    assert response.status_code == 400 and "megapixels" in response.json()["detail"]
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_while_every_renderer_is_busy_is_503_and_works_once_one_frees(api, team, settings):
    """A client retries a 503, not a 400: the copy was refused for now, not for its input."""
    settings.FILEDOCK_CDN_RENDER_WAIT = 0
    image = make_file(team.project, "p.png", data=png_bytes(40, 40), store=False)
    with renderers_busy():
        response = api("post", "files/local_copy/", {"source": f"{image.uuid}/-/resize/10x10/"})
    assert response.status_code == 503 and "busy" in response.json()["detail"]
    assert File.objects.filter(project=team.project).count() == 1
    assert api("post", "files/local_copy/", {"source": f"{image.uuid}/-/resize/10x10/"}).status_code == 201


def test_local_copy_refuses_bad_metadata(api, team):
    file = make_file(team.project, store=False)
    for metadata in ({"bad key!": "v"}, {"k": ""}, ["k"]):
        response = api("post", "files/local_copy/", {"source": str(file.uuid), "metadata": metadata})
        assert response.status_code == 400, metadata
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_takes_a_bare_uuid_and_defaults_to_temporary(api, team):
    file = make_file(team.project, store=False)
    body = api("post", "files/local_copy/", {"source": str(file.uuid)}).json()
    assert body["result"]["datetime_stored"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": ""},
        {"source": "nope"},
        {"source": 42},
        {"source": "FILE", "store": "maybe"},
        {"source": "FILE", "store": {}},
        [],
        "text",
    ],
)
def test_bad_local_copy_is_400(api, team, body):
    file = make_file(team.project, store=False)
    if isinstance(body, dict) and body.get("source") == "FILE":
        body = {**body, "source": str(file.uuid)}
    assert api("post", "files/local_copy/", body).status_code == 400
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_of_removed_or_unknown_is_404(api, team):
    removed = file_delete(file=make_file(team.project, store=False))
    assert api("post", "files/local_copy/", {"source": str(removed.uuid)}).status_code == 404
    assert api("post", "files/local_copy/", {"source": str(uuid.uuid4())}).status_code == 404
    assert File.objects.filter(project=team.project).count() == 1


def test_local_copy_malformed_json_is_400(api):
    assert api("post", "files/local_copy/", b'{"source":').status_code == 400
