"""files.cdn.cache: a project's renderings and proxied copies held under FILEDOCK_CACHE_BUDGET,
least recently used evicted first, and the sweep of proxied bytes no row names."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from files.cdn import cache, proxy
from files.models import ProxiedFile, Rendering
from files.services import file_delete, file_upload
from files.storage.sweeps import proxy_sweep_orphans


def noisy_png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3) if seed else bytes(64 * 64 * 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def photo(team):
    data = noisy_png(1)
    return file_upload(project=team.project, content=ContentFile(data, name="n.png"), filename="n.png", store=True)


def render(client, photo, width: int):
    response = client.get(f"/cdn/{photo.uuid}/-/resize/{width}x/-/format/png/")
    assert response.status_code == 200
    return Rendering.objects.get(storage_key__endswith=".png", file=photo, size__gt=0, storage_key__contains="ops-")


def test_renderings_are_counted_and_the_least_recently_used_evicted_past_the_budget(client, photo, settings):
    client.get(f"/cdn/{photo.uuid}/-/resize/60x/-/format/png/")
    first = Rendering.objects.get(file=photo)
    settings.FILEDOCK_CACHE_BUDGET = first.size * 2 + first.size // 2  # room for two and a half
    Rendering.objects.update(used_at=timezone.now() - timedelta(days=2))  # the oldest
    client.get(f"/cdn/{photo.uuid}/-/resize/61x/-/format/png/")
    client.get(f"/cdn/{photo.uuid}/-/resize/62x/-/format/png/")
    kept = set(Rendering.objects.filter(file=photo).values_list("storage_key", flat=True))
    assert first.storage_key not in kept and not default_storage.exists(first.storage_key)
    assert cache.cache_used(photo.project_id) <= settings.FILEDOCK_CACHE_BUDGET
    assert all(default_storage.exists(key) for key in kept)
    # Evicted is only a cache miss: asked again, it is rendered again.
    assert client.get(f"/cdn/{photo.uuid}/-/resize/60x/-/format/png/").status_code == 200


def test_a_hit_moves_a_rendering_up_once_an_hour(client, photo):
    client.get(f"/cdn/{photo.uuid}/-/resize/30x/")
    old = timezone.now() - timedelta(hours=3)
    Rendering.objects.update(used_at=old)
    client.get(f"/cdn/{photo.uuid}/-/resize/30x/")
    assert Rendering.objects.get(file=photo).used_at > old


def test_renderings_go_with_their_file(client, photo, django_capture_on_commit_callbacks):
    client.get(f"/cdn/{photo.uuid}/-/resize/30x/")
    key = Rendering.objects.get(file=photo).storage_key
    with django_capture_on_commit_callbacks(execute=True):
        file_delete(file=photo)
    assert not Rendering.objects.filter(file=photo).exists() and not default_storage.exists(key)


def test_proxied_copies_share_the_budget_and_go_oldest_first(client, team, httpserver, settings):
    proxy.proxy_domain_add(project=team.project, pattern=httpserver.host)
    for name in ("a", "b", "c"):
        httpserver.expect_request(f"/{name}.bin").respond_with_data(
            b"x" * 1000, content_type="application/octet-stream"
        )
    settings.FILEDOCK_CACHE_BUDGET = 2500
    for name in ("a", "b"):
        assert client.get(f"/proxy/{team.project.public_key}/{httpserver.url_for(f'/{name}.bin')}").status_code == 200
    ProxiedFile.objects.filter(url__endswith="/a.bin").update(used_at=timezone.now() - timedelta(days=1))
    oldest_key = ProxiedFile.objects.get(url__endswith="/a.bin").storage_key
    assert client.get(f"/proxy/{team.project.public_key}/{httpserver.url_for('/c.bin')}").status_code == 200
    urls = sorted(url.rsplit("/", 1)[1] for url in ProxiedFile.objects.values_list("url", flat=True))
    assert urls == ["b.bin", "c.bin"] and not default_storage.exists(oldest_key)


def test_the_sweep_deletes_proxied_bytes_no_copy_names(team):
    live = ProxiedFile.objects.create(
        project=team.project, url="https://example.com/a", url_hash="d" * 64, storage_key="", size=3
    )
    folder = f"proxy/{team.project.pk}/{'d' * 64}"
    live.storage_key = default_storage.save(f"{folder}/live", ContentFile(b"abc"))
    live.save()
    rendering = default_storage.save(f"{live.storage_key}-ops-1.png", ContentFile(b"png"))
    orphan = default_storage.save(f"{folder}/orphan", ContentFile(b"left behind"))
    orphan_rendering = default_storage.save(f"{folder}/orphan-ops-1.png", ContentFile(b"png"))
    # Everything written before the cutoff is old enough (no wait for the clock to move on);
    # other tests leave orphans too.
    assert proxy_sweep_orphans(cutoff=timezone.now() + timedelta(seconds=1), limit=1000) >= 2
    assert default_storage.exists(live.storage_key) and default_storage.exists(rendering)
    assert not default_storage.exists(orphan) and not default_storage.exists(orphan_rendering)
