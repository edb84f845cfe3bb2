"""The Add-ons API and malware protection, through the official clients unmodified, a real Celery
worker, a real clamd (tests/conftest.py) and a webhook receiver checking signatures."""

import json

import pytest
from pyuploadcare.api.addon_entities import AddonClamAVExecutionParams, AddonLabels
from pyuploadcare.exceptions import InvalidRequestError

from files.addons.runs import CLAMAV
from files.models import File
from tests.clamd import EICAR
from tests.helpers import wait_until
from tests.projects.webhooks.receiver import subscribe


def file_of(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path.open("rb")  # pyuploadcare sends real files (it asks for their size by fileno)


def test_pyuploadcare_upload_of_eicar_is_flagged_and_its_webhook_arrives_signed(
    uploadcare, live_project, clamd, celery_worker, receiver, tmp_path
):
    project, _ = live_project
    project.malware_protection = "report"
    project.save(update_fields=["malware_protection"])
    subscribe(project, receiver.url, event="file.infected")

    with file_of(tmp_path, "eicar.com", EICAR) as eicar:
        uploaded = uploadcare.upload(eicar, store=True)
    assert wait_until(lambda: File.objects.get(pk=uploaded.uuid).infected, timeout=30)
    assert wait_until(lambda: receiver.requests, timeout=30)
    [request] = receiver.requests
    assert request["uc_valid"] and request["standard_valid"]
    payload = json.loads(request["body"])
    assert payload["hook"]["event"] == "file.infected"
    assert payload["data"]["uuid"] == str(uploaded.uuid)
    assert payload["data"]["appdata"][CLAMAV]["data"]["infected_with"] == "Eicar-Test-Signature.UNOFFICIAL"

    file = uploadcare.file(str(uploaded.uuid))
    file.update_info(include_appdata=True)  # pyuploadcare parses appdata into its own models
    assert file.info["appdata"][CLAMAV]["data"]["infected"] is True


def test_pyuploadcare_addons_api_scans_and_purges(uploadcare, clamd, celery_worker, tmp_path):
    with file_of(tmp_path, "eicar.com", EICAR) as eicar, file_of(tmp_path, "a.txt", b"nothing") as text:
        infected, clean = uploadcare.upload(eicar, store=True), uploadcare.upload(text, store=True)
    api = uploadcare.addons_api
    purge = AddonClamAVExecutionParams(purge_infected=True)
    runs = {
        "infected": api.execute(infected.uuid, AddonLabels.CLAM_AV, purge).request_id,
        "clean": api.execute(clean.uuid, AddonLabels.CLAM_AV, purge).request_id,
    }
    assert wait_until(lambda: all(api.status(r, AddonLabels.CLAM_AV).status.value == "done" for r in runs.values()))
    assert File.objects.get(pk=infected.uuid).is_removed  # purge_infected
    clean_file = File.objects.get(pk=clean.uuid)
    assert not clean_file.is_removed and clean_file.appdata[CLAMAV]["data"] == {"infected": False}

    with pytest.raises(InvalidRequestError, match=r"remove\.bg"):
        api.execute(clean.uuid, AddonLabels.REMOVE_BG)


def test_pyuploadcare_moderation_labels_parse_into_its_models(uploadcare, celery_worker, tmp_path):
    from PIL import Image

    Image.new("RGB", (300, 200), (30, 120, 200)).save(tmp_path / "sky.jpg")
    with (tmp_path / "sky.jpg").open("rb") as photo:
        uploaded = uploadcare.upload(photo, store=True)
    api = uploadcare.addons_api
    request_id = api.execute(uploaded.uuid, AddonLabels.AWS_MODERATION_LABELS).request_id
    assert wait_until(lambda: api.status(request_id, AddonLabels.AWS_MODERATION_LABELS).status.value == "done")
    info = uploadcare.files_api.retrieve(uploaded.uuid, include_appdata=True)
    labels = info.appdata.aws_rekognition_detect_moderation_labels  # pyuploadcare's own model of it
    assert labels.data.label_model_version == "nudenet-3.4.2" and labels.data.labels == []
