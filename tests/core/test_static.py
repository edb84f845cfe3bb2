"""core.static: the manifest storage's URLs, kept once worked out, are WhiteNoise's."""

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from core.static import ManifestStaticStorage

PATHS = {"css/app.css": "css/app.0123abcd.css", "img/logo.svg": "img/logo.4567ef01.svg", "a b.js": "a b.89ab.js"}


@pytest.fixture
def storages(tmp_path):
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": PATHS, "version": "1.1", "hash": "x"}))
    made = [
        cls(location=str(tmp_path), base_url="/static/")
        for cls in (ManifestStaticStorage, CompressedManifestStaticFilesStorage)
    ]
    return made


@pytest.mark.parametrize("debug", [False, True])
def test_urls_are_whitenoises_each_time(settings, storages, debug):
    settings.DEBUG = debug
    kept, theirs = storages
    for _ in range(2):
        for name in [*PATHS, "css/app.css#top"]:
            assert kept.url(name) == theirs.url(name)
    assert kept.url("css/app.css") == ("/static/css/app.css" if debug else "/static/css/app.0123abcd.css")
    settings.DEBUG = not debug  # and when DEBUG changes, the URL does
    assert kept.url("css/app.css") == theirs.url("css/app.css")


def test_a_name_not_in_the_manifest_is_refused_each_time(storages):
    kept, _ = storages
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            kept.url("css/none.css")
