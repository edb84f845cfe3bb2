"""The OpenAPI description at /api/schema/ and the Swagger UI page at /api/docs/."""

import base64
import hashlib
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate
from rest_framework.response import Response

from files.rest.base import ProjectAPIView
from projects.webhooks import services as webhook_services
from projects.webhooks.rest import webhook_info

WEBHOOK_PATHS = ["/api/webhooks/", "/api/webhooks/{webhook_id}/", "/api/webhooks/unsubscribe/"]


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Filedock REST API (Uploadcare v0.7 compatible)"


def test_schema_needs_neither_credentials_nor_the_v07_accept_header(client):
    response = client.get("/api/schema/")  # no Authorization, no Accept: YAML by default
    assert response.status_code == 200
    assert "/api/webhooks/" in yaml.safe_load(response.content)["paths"]


def test_schema_lists_the_webhook_and_project_operations(schema):
    paths = schema["paths"]
    assert set(WEBHOOK_PATHS) | {"/api/project/"} <= set(paths)
    assert set(paths["/api/webhooks/"]) >= {"get", "post"}
    assert set(paths["/api/webhooks/{webhook_id}/"]) >= {"put", "delete"}
    assert "delete" in paths["/api/webhooks/unsubscribe/"]
    assert "/api/schema/" not in paths and "/api/docs/" not in paths
    assert schema["components"]["securitySchemes"]["Uploadcare"]["name"] == "Authorization"


def test_webhook_bodies_are_documented_as_sent(schema):
    create = schema["paths"]["/api/webhooks/"]["post"]
    assert list(create["requestBody"]["content"]) == ["application/json", "application/x-www-form-urlencoded"]
    assert "201" in create["responses"] and "400" in create["responses"]
    listing = schema["paths"]["/api/webhooks/"]["get"]["responses"]["200"]["content"]
    assert listing["application/vnd.uploadcare-v0.7+json"]["schema"]["type"] == "array"
    assert "404" in schema["paths"]["/api/webhooks/{webhook_id}/"]["put"]["responses"]


def test_documented_webhook_fields_match_the_response(schema, team):
    webhook = webhook_services.webhook_create(
        project=team.project, target_url="https://a.example/", event="file.stored"
    )
    assert set(schema["components"]["schemas"]["Webhook"]["properties"]) == set(webhook_info(webhook))


def test_project_info_is_documented(schema):
    project_info = schema["components"]["schemas"]["ProjectInfo"]
    assert {"name", "pub_key", "autostore_enabled", "collaborators"} <= set(project_info["required"])


class Unannotated(ProjectAPIView):
    """A view written without any schema annotations, like a new endpoint before it is described."""

    def get(self, request, file_id):
        return Response({})

    def put(self, request, file_id):
        return Response({})


def test_generation_survives_views_without_annotations():
    from config import api_urls as urls

    patterns = [path("api/", (urls.urlpatterns, "api", "api")), path("api/bare/<uuid:file_id>/", Unannotated.as_view())]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    validate(schema)
    assert {"get", "put"} <= set(schema["paths"]["/api/bare/{file_id}/"])
    assert "/api/webhooks/" in schema["paths"]


def test_docs_page_has_no_inline_script_and_its_inline_style_is_allowed_by_hash(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    style_src = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    for style in re.findall(r"<style>(.*?)</style>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in style_src


def test_docs_init_script_and_assets_are_served_locally(client):
    html = client.get("/api/docs/").content.decode()
    init = client.get("/api/docs/?script=")
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(asset), asset
    assert "https://" not in html


def test_dashboard_overview_links_to_the_api_docs(login, team):
    response = login(team.member).get(f"/projects/{team.project.pk}/")
    assert response.status_code == 200
    assert 'href="http://testserver/api/docs/"' in response.content.decode()


def test_each_operation_is_described_once_without_collisions(schema):
    assert schema["paths"] and all(path.startswith(("/api/", "/upload/")) for path in schema["paths"])
    operation_ids = [
        op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))
    # drf-spectacular numbers colliding ids ("files_retrieve_2") and prints a warning once per process.
    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    assert [warning for warning in GENERATOR_STATS._warn_cache if "collision" in warning] == []


def test_the_upload_api_is_described_beside_the_rest_api(schema):
    validate(schema)
    base = schema["paths"]["/upload/base/"]["post"]
    assert base["tags"] == ["Upload API"]
    form = base["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "UPLOADCARE_PUB_KEY" in form["required"] and form["properties"]["file"]["format"] == "binary"
    for endpoint in ("multipart/start/", "multipart/complete/", "from_url/", "group/"):
        assert "post" in schema["paths"][f"/upload/{endpoint}"], endpoint
    for endpoint in ("from_url/status/", "info/", "group/info/"):
        assert "get" in schema["paths"][f"/upload/{endpoint}"], endpoint
    assert {"name": "Upload API"}.items() <= next(t for t in schema["tags"] if t["name"] == "Upload API").items()
