"""Malware scanning with ClamAV: a real clamd (tests/conftest.py) with a signature of the EICAR
test file; jobs run as the worker runs them (addon_run), the outbox relayed as beat relays it."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from files.addons import clamav
from files.addons.runs import CLAMAV, AddonError, addon_execute, addon_run, addon_status, addon_sweep
from files.models import AddonRun, Event, File
from files.outbox.relay import outbox_relay
from tests.clamd import EICAR
from tests.factories import make_file


def upload(project, data: bytes = EICAR, name: str = "eicar.com") -> File:
    return make_file(project, name=name, data=data)


def protect(project, mode: str) -> None:
    project.malware_protection = mode
    project.save(update_fields=["malware_protection"])


def scan_uploads() -> list[AddonRun]:
    """Relays the outbox (which queues the scans) and runs every scan it queued."""
    outbox_relay()
    runs = list(AddonRun.objects.order_by("created_at"))
    for run in runs:
        addon_run(run_id=run.pk)
    return [AddonRun.objects.get(pk=run.pk) for run in runs]


def test_clamd_finds_the_eicar_file_and_nothing_in_a_clean_one(clamd):
    assert clamav.scan(io.BytesIO(EICAR)) == "Eicar-Test-Signature.UNOFFICIAL"
    assert clamav.scan(io.BytesIO(b"just some text" * 10000)) is None
    assert clamav.version().startswith("ClamAV ")


def test_an_unreachable_clamd_is_told_apart(settings, tmp_path):
    settings.FILEDOCK_CLAMD_ADDRESS = str(tmp_path / "nothing.sock")
    with pytest.raises(clamav.ScannerUnavailable, match="not reachable"):
        clamav.scan(io.BytesIO(b"x"))
    assert not clamav.available()


def test_report_mode_flags_an_infected_upload_and_keeps_it(team, clamd):
    protect(team.project, "report")
    infected, clean = upload(team.project), upload(team.project, b"hello", "hello.txt")
    runs = scan_uploads()
    assert [run.status for run in runs] == ["done", "done"]
    infected.refresh_from_db()
    clean.refresh_from_db()
    assert infected.infected and not infected.is_removed
    scan = infected.appdata[CLAMAV]
    assert scan["data"] == {"infected": True, "infected_with": "Eicar-Test-Signature.UNOFFICIAL"}
    assert scan["version"][0].isdigit() and scan["datetime_created"] == scan["datetime_updated"]
    assert clean.appdata[CLAMAV]["data"] == {"infected": False} and not clean.infected
    events = list(Event.objects.filter(file_uuid=infected.uuid).values_list("type", "initiator"))
    assert (
        Event.Type.FILE_INFECTED,
        {"type": "addon", "detail": {"addon_name": CLAMAV, "request_id": str(runs[0].pk)}},
    ) in events
    assert not Event.objects.filter(file_uuid=clean.uuid, type=Event.Type.FILE_INFECTED).exists()


def test_remove_mode_deletes_an_infected_upload(team, clamd):
    protect(team.project, "remove")
    infected = upload(team.project)
    scan_uploads()
    infected.refresh_from_db()
    assert infected.is_removed and infected.infected
    assert Event.objects.filter(file_uuid=infected.uuid, type=Event.Type.FILE_DELETED).exists()


def test_no_scan_when_protection_is_off(team, clamd):
    upload(team.project)
    assert scan_uploads() == []


def test_a_scanner_that_is_down_delays_scans_and_loses_none(team, clamd):
    protect(team.project, "report")
    clamd.stop()
    files = [upload(team.project, EICAR, f"e{index}.com") for index in range(3)]
    runs = scan_uploads()
    assert {run.status for run in runs} == {"waiting"}
    assert all("not reachable" in run.error for run in runs)
    assert all(run.next_attempt_at > timezone.now() for run in runs)  # backing off, not spinning

    clamd.start()
    AddonRun.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the backoff ran out
    assert addon_sweep() == 3
    for run in runs:
        assert addon_run(run_id=run.pk) == "done"
    assert File.objects.filter(pk__in=[f.pk for f in files], infected=True).count() == 3


def test_a_run_is_taken_once(team, clamd):
    file = upload(team.project, b"clean", "a.txt")
    run = addon_execute(project=team.project, file=file, addon=CLAMAV, params={})
    assert addon_run(run_id=run.pk) == "done"
    assert addon_run(run_id=run.pk) == "not-due"  # a duplicate message
    assert addon_status(project=team.project, addon=CLAMAV, request_id=run.pk) == "done"


def test_execute_refuses_what_it_cannot_do(team, clamd):
    file = upload(team.project, b"clean", "a.txt")
    for addon, params, message in (
        ("remove_bg", {}, "remove.bg"),
        ("aws_rekognition_detect_labels", {}, "AWS Rekognition"),
        (CLAMAV, {"purge_infected": "yes"}, "true or false"),
        (CLAMAV, {"other": 1}, "purge_infected"),
    ):
        with pytest.raises(AddonError, match=message):
            addon_execute(project=team.project, file=file, addon=addon, params=params)


def test_without_a_running_clamd_execute_says_what_to_do(team, settings, tmp_path):
    settings.FILEDOCK_CLAMD_ADDRESS = str(tmp_path / "clamav" / "clamd.ctl")  # no package made its folder
    file = upload(team.project, b"clean", "a.txt")
    # clamd is installed on this machine (tests/services.sh): the answer says to start it.
    with pytest.raises(AddonError, match=r"installed but its daemon is not running: start it"):
        addon_execute(project=team.project, file=file, addon=CLAMAV, params={})


def test_status_of_another_projects_run_is_unknown(team, clamd):
    file = upload(team.project, b"clean", "a.txt")
    run = addon_execute(project=team.project, file=file, addon=CLAMAV, params={})
    elsewhere = team.outsider.memberships.get().project
    assert addon_status(project=elsewhere, addon=CLAMAV, request_id=run.pk) == "unknown"
    assert addon_status(project=team.project, addon=CLAMAV, request_id=run.pk) == "in_progress"


def test_the_settings_page_turns_protection_on_and_says_how_scanning_stands(login, team, clamd):
    client = login(team.admin)
    settings_url = f"/projects/{team.project.pk}/settings/"
    saved = client.post(
        f"/projects/{team.project.pk}/settings/safety/",
        {"malware_protection": "remove", "moderation": "flag", "moderation_threshold": "70"},
        follow=True,
    )
    assert saved.redirect_chain[-1][0] == settings_url
    team.project.refresh_from_db()
    assert (team.project.malware_protection, team.project.moderation, team.project.moderation_threshold) == (
        "remove",
        "flag",
        70,
    )
    assert "ClamAV is answering" in saved.content.decode()

    clamd.stop()
    upload(team.project)
    scan_uploads()
    page = client.get(settings_url).content.decode()
    assert "not answering" in page and "1 scan waiting" in page

    refused = client.post(
        f"/projects/{team.project.pk}/settings/safety/",
        {"malware_protection": "off", "moderation": "off", "moderation_threshold": "0"},
        follow=True,
    )
    assert "A confidence between 1 and 100" in refused.content.decode()
    team.project.refresh_from_db()
    assert team.project.malware_protection == "remove"  # nothing saved


def test_without_a_running_clamd_the_settings_page_says_what_to_do(login, team):
    page = login(team.admin).get(f"/projects/{team.project.pk}/settings/").content.decode()
    assert "its daemon is not running: start it" in page  # installed here by tests/services.sh


def test_the_files_browser_shows_and_filters_infected_files(login, team, clamd):
    protect(team.project, "report")
    infected, clean = upload(team.project), upload(team.project, b"fine", "fine.txt")
    scan_uploads()
    client = login(team.viewer)
    listing = client.get(f"/projects/{team.project.pk}/files/", {"state": "infected"})
    rows = [row.file.uuid for row in listing.context["page"].rows]
    assert rows == [infected.uuid]
    assert 'class="badge danger"' in listing.content.decode() and "Eicar-Test-Signature" in listing.content.decode()
    everything = client.get(f"/projects/{team.project.pk}/files/").context["page"].rows
    assert {row.file.uuid for row in everything} == {infected.uuid, clean.uuid}
