"""Post/Redirect/Get after a form error: the form comes back once, on its own page, as it was sent."""

from django import forms
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from core.prg import form_restore, redirect_with_form

SECRET = "typed-secret-1234"


class AppForm(forms.Form):
    name = forms.CharField(max_length=5)
    secret = forms.CharField()
    tags = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)


class OtherForm(forms.Form):
    name = forms.CharField()


def _request(method: str, path: str, session, data=None):
    request = getattr(RequestFactory(), method)(path, data or {})
    request.session = session
    return request


def test_a_form_with_errors_comes_back_once_on_its_page_with_what_was_sent(db):
    session = SessionStore()
    sent = {"name": "far too long", "secret": SECRET, "tags": ["a", "b"], "csrfmiddlewaretoken": "x"}
    post = _request("post", "/p/save/", session, sent)
    form = AppForm(post.POST)
    assert not form.is_valid()
    form.add_error(None, "The service said no.")  # what a service refused, not the form's own check

    response = redirect_with_form(post, form, "/p/?tab=2")

    assert response.status_code == 302 and response["Location"] == "/p/?tab=2"
    session.save()
    assert SECRET not in str(SessionStore(session.session_key).load())  # encrypted while it waits
    assert form_restore(_request("get", "/elsewhere/", session), AppForm) is None
    assert form_restore(_request("get", "/p/", session), OtherForm) is None
    restored = form_restore(_request("get", "/p/", session), AppForm)
    assert restored.data.getlist("tags") == ["a", "b"] and restored.data["secret"] == SECRET
    assert "csrfmiddlewaretoken" not in restored.data
    assert restored.errors["name"] == ["Ensure this value has at most 5 characters (it has 12)."]
    assert restored.non_field_errors() == ["The service said no."]
    assert form_restore(_request("get", "/p/", session), AppForm) is None  # once: a reload shows a fresh form
