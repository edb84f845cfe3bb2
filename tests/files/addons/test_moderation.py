"""Content moderation: NudeNet's model from its wheel, run on real images; its findings mapped to
Rekognition's moderation labels. (No explicit image is kept in the suite: a finding's path through
flag and remove is tested on the labels, and a real run shows an innocent image passes.)"""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from files.addons import moderation
from files.addons.runs import MODERATION, AddonError, addon_execute, addon_run
from files.models import AddonRun
from files.outbox.relay import outbox_relay
from tests.factories import make_file


def jpeg(width: int = 900, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize((width, height)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def test_findings_become_rekognition_labels_with_their_categories():
    labels = moderation.labels_of(
        {
            ("Nudity", "Explicit Nudity"): 91.5,
            ("Revealing Clothes", "Suggestive"): 40.0,
            ("Graphic Male Nudity", "Explicit Nudity"): 60.0,
        }
    )
    assert labels[0] == {"Confidence": 91.5, "Name": "Nudity", "ParentName": "Explicit Nudity"}
    assert {"Confidence": 91.5, "Name": "Explicit Nudity", "ParentName": ""} in labels  # the category's strongest
    assert {"Confidence": 40.0, "Name": "Suggestive", "ParentName": ""} in labels
    assert moderation.over_threshold(labels, 90) and not moderation.over_threshold(labels, 95)
    suggestive_only = moderation.labels_of({("Revealing Clothes", "Suggestive"): 99.0})
    assert not moderation.over_threshold(suggestive_only, 50)  # only explicit nudity counts


def test_an_innocent_image_is_checked_and_kept(team):
    team.project.moderation = "remove"
    team.project.save(update_fields=["moderation"])
    photo = make_file(team.project, name="landscape.jpg", data=jpeg())
    make_file(team.project, name="notes.txt", data=b"not an image")  # moderation looks at images only
    outbox_relay()
    [run] = AddonRun.objects.all()
    assert (run.addon, run.params) == (MODERATION, {"action": "remove"})
    assert addon_run(run_id=run.pk) == "done"
    photo.refresh_from_db()
    result = photo.appdata[MODERATION]
    assert result["data"] == {"ModerationModelVersion": "nudenet-3.4.2", "ModerationLabels": []}
    assert result["version"] == "2016-06-27" and not photo.is_removed


def test_moderation_over_rest_takes_images_and_no_params(team):
    text = make_file(team.project, data=b"words")
    with pytest.raises(AddonError, match="looks at images"):
        addon_execute(project=team.project, file=text, addon=MODERATION, params={})
    photo = make_file(team.project, name="p.jpg", data=jpeg(64, 64))
    with pytest.raises(AddonError, match="takes no params"):
        addon_execute(project=team.project, file=photo, addon=MODERATION, params={"x": 1})
    run = addon_execute(project=team.project, file=photo, addon=MODERATION, params={})
    assert addon_run(run_id=run.pk) == "done"


def test_an_undecodable_image_is_an_error_not_a_retry(team):
    photo = make_file(team.project, name="p.jpg", data=jpeg(64, 64))
    run = addon_execute(project=team.project, file=photo, addon=MODERATION, params={})
    from files.storage.backends import storage_for

    storage = storage_for(photo)
    storage.delete(photo.storage_key)
    storage.save(photo.storage_key, ContentFile(b"\xff\xd8 not really a jpeg"))
    assert addon_run(run_id=run.pk) == "error"
    assert "could not be checked" in AddonRun.objects.get(pk=run.pk).error
