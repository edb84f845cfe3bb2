"""The Integrate page: the snippet follows the options and points at this server."""

from html import unescape

from django.urls import reverse


def snippet(response) -> str:
    return response.context["uploader"]


def test_the_default_snippet_points_at_this_server_and_keeps_telemetry_off(login, team):
    response = login(team.viewer).get(reverse("projects:integrate", args=[team.project.pk]))
    assert response.status_code == 200
    text = snippet(response)
    assert f'pubkey="{team.project.public_key}"' in text
    assert 'base-url="http://testserver/upload/"' in text
    assert 'cdn-cname="http://testserver"' in text  # the uploader keeps only the origin
    assert 'quality-insights="false"' in text and 'source-list="local, url, camera"' in text
    assert "<uc-file-uploader-regular" in text and "uc-file-uploader-regular.min.css" in text
    body = unescape(response.content.decode())
    assert text in body and response.context["pyuploadcare"] in body
    assert "give this server's CDN a host of its own" in body  # the tests' CDN is a path


def test_options_change_the_snippet(login, team):
    options = {
        "mode": "inline",
        "sources": ["local", "dropbox"],
        "max_size_mb": "10",
        "img_only": "on",
        "crop_presets": "1:1,16:9 , free",
        "theme": "dark",
    }
    text = snippet(login(team.viewer).get(reverse("projects:integrate", args=[team.project.pk]), options))
    for expected in (
        "<uc-file-uploader-inline",
        'class="uc-dark"',
        'source-list="local, dropbox"',
        f'max-local-file-size-bytes="{10 * 1024 * 1024}"',
        'img-only="true"',
        'crop-preset="1:1, 16:9, free"',
        'multiple="false"',  # unticked
        'use-cloud-image-editor="false"',
    ):
        assert expected in text, expected


def test_bad_options_say_so_and_keep_the_default_snippet(login, team):
    response = login(team.viewer).get(
        reverse("projects:integrate", args=[team.project.pk]), {"crop_presets": "square", "mode": "regular"}
    )
    assert "Ratios like 1:1 or 16:9" in response.content.decode()
    assert "crop-preset" not in snippet(response)
