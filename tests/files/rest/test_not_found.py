"""Unknown REST paths answer JSON, as the official clients expect to parse; the dashboard's 404
stays its page."""

import json

import pytest

from tests.factories import make_key
from tests.helpers import ACCEPT


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/api/no/such/thing/", ""), ("/convert/unknown/", ACCEPT), ("/addons/uc_clamav_virus_scan/nope/", ACCEPT)],
)
def test_unknown_rest_paths_answer_json(client, db, path, accept):
    response = client.get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == (accept or "application/json")
    assert json.loads(response.content) == {"detail": "Not found."}


def test_an_unknown_add_on_is_a_json_404(client, team):

    _, secret = make_key(team.project, label="t")
    response = client.post(
        "/api/addons/no_such_addon/execute/",
        {"target": "x"},
        content_type="application/json",
        HTTP_ACCEPT=ACCEPT,
        HTTP_AUTHORIZATION=f"Uploadcare.Simple {team.project.public_key}:{secret}",
    )
    assert response.status_code == 404 and "no_such_addon" in response.json()["detail"]


def test_a_dashboard_404_is_still_a_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
