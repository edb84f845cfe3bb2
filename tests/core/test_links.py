"""`{% link %}` gives the URL `{% url %}` gives, from a pattern reversed once per process."""

import uuid

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory, override_settings
from django.urls import resolve, reverse, set_script_prefix

from core.links import url

ONE, TWO = uuid.uuid4(), uuid.uuid4()


def _both(source: str, request=None, **context) -> tuple[str, str]:
    """The template rendered with {% url %} and with {% link %}."""
    rendered = []
    for tag in ("url", "link"):
        text = "{% load links %}" + source.replace("TAG", tag)
        made = RequestContext(request, context) if request else Context(context)
        rendered.append(Template(text).render(made))
    return rendered[0], rendered[1]


@pytest.mark.parametrize(
    "source",
    [
        "{% TAG 'account_email' %}",
        "{% TAG 'projects:overview' one %}",
        "{% TAG 'files:detail' one two %}|{% TAG 'files:detail' two one %}",
        "{% TAG 'files:list' one as listed %}[{{ listed }}]",
        "{% TAG 'projects:overview' one %}{% TAG 'projects:overview' two %}",
    ],
)
def test_each_form_gives_what_url_gives(source):
    with_url, with_link = _both(source, one=ONE, two=TWO)
    assert with_link == with_url and "/" in with_url


def test_the_ids_go_where_their_arguments_go():
    assert url("files:detail", ONE, TWO) == reverse("files:detail", args=[ONE, TWO])
    assert url("files:detail", TWO, ONE) == reverse("files:detail", args=[TWO, ONE])
    marker = uuid.UUID(int=2)  # the pattern's own marker for the second argument, as a first one
    assert url("files:detail", marker, ONE) == reverse("files:detail", args=[marker, ONE])


def test_a_script_prefix_is_followed():
    try:
        set_script_prefix("/under/")
        assert url("projects:overview", ONE) == f"/under/projects/{ONE}/"
    finally:
        set_script_prefix("/")
    assert url("projects:overview", ONE) == f"/projects/{ONE}/"


@override_settings(ROOT_URLCONF="tests.core.links_urls")
def test_another_urlconf_is_followed():
    assert url("projects:overview", ONE) == f"/elsewhere/{ONE}/"


def test_the_namespace_instance_of_the_request_is_followed():
    """An app included twice (the REST API at its base and at the root): the request's instance wins."""
    request = RequestFactory().get("/files/")
    request.resolver_match = resolve("/files/")
    assert request.resolver_match.namespace == "api_root"
    with_url, with_link = _both("{% TAG 'api:files' %}", request)
    assert with_link == with_url == reverse("api:files", current_app="api_root")
    assert with_link != reverse("api:files")


def test_an_id_that_is_not_a_uuid_is_refused():
    with pytest.raises(TypeError, match="projects:overview: links take UUID arguments, not str"):
        url("projects:overview", str(ONE))
