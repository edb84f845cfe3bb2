"""The admin as an operator reads it: sections and plurals in words, and no way to delete a
project's row while leaving its files behind."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import AuditEvent
from projects.services import PURGE_TASK
from tests.factories import UserFactory


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_sections_and_plurals_read_as_words(staff):
    index = staff.get("/admin/").content.decode()
    assert "Webhook deliveries" in index and "OAuth apps" in index and "API log lines" in index
    assert "Webhook deliverys" not in index and "O auth apps" not in index
    assert index.count(">Accounts<") == 1 and "Users and audit log" in index


def test_projects_are_deleted_only_through_the_background_purge(
    staff, team, broker_queue, django_capture_on_commit_callbacks
):
    changelist = staff.get("/admin/projects/project/").content.decode()
    assert 'value="delete_in_background"' in changelist and 'value="delete_selected"' not in changelist
    assert staff.get(f"/admin/projects/project/{team.project.pk}/delete/").status_code == 403
    elsewhere = team.outsider.memberships.get().project
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/projects/project/", {"action": "delete_in_background", "_selected_action": [str(team.project.pk)]}
        )
    assert (response.status_code, response["Location"]) == (302, "/admin/projects/project/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deletion started."]
    team.project.refresh_from_db(), elsewhere.refresh_from_db()
    assert team.project.deleted_at is not None and elsewhere.deleted_at is None
    # The purge is queued now (not left for the periodic sweep), and the project's log says who deleted it.
    assert broker_queue.args(PURGE_TASK) == [[str(team.project.pk)]]
    event = AuditEvent.objects.get(action="project.deleted")
    assert (event.project_id, event.actor.email) == (team.project.pk, "root@example.com")
