"""Post/Redirect/Get after a form error.

A POST whose form has errors redirects to the page the form is on, like a POST that worked: the
address bar never shows a POST endpoint, and reloading the page never sends the form again. The
form's data and errors wait in the session for the next view of that page, which shows the form
as it was sent, with its errors. They are encrypted with the column key there: a form may hold a
secret (an OAuth client secret, a bucket's secret key) that the session table must not keep in
plain text.
"""

import json
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, resolve_url

from core.fields import decrypt, encrypt

SESSION_KEY = "form_with_errors"
NOT_KEPT = ("csrfmiddlewaretoken",)


def redirect_with_form(request: HttpRequest, form: forms.Form, to: str, *args, **kwargs) -> HttpResponseRedirect:
    """Keeps the bound `form`'s data and errors for the page `to` (a URL, or a URL name with its
    arguments) and redirects there; that page's view gets the form back with `form_restore`.

    For a form with errors, and for one the page shows again as sent (a bucket being tested)."""
    url = resolve_url(to, *args, **kwargs)
    data = {key: form.data.getlist(key) for key in form.data if key not in NOT_KEPT}
    errors = {field: [error["message"] for error in found] for field, found in form.errors.get_json_data().items()}
    request.session[SESSION_KEY] = {
        "form": _name(type(form)),
        "path": urlsplit(url).path,
        "kept": encrypt(json.dumps({"data": data, "errors": errors})),
    }
    return redirect(url)


def form_restore(request: HttpRequest, form_class: type[forms.Form], **kwargs: Any) -> forms.Form | None:
    """The `form_class` form a failed POST left for this page, bound to what was sent and showing
    its errors; None when there is none (the form kept was another page's or another form's)."""
    kept = request.session.get(SESSION_KEY)
    if not kept or kept["form"] != _name(form_class) or kept["path"] != request.path:
        return None
    del request.session[SESSION_KEY]
    saved = json.loads(decrypt(kept["kept"]))
    data = QueryDict(mutable=True)
    for key, values in saved["data"].items():
        data.setlist(key, values)
    form = form_class(data, **kwargs)
    form.is_valid()  # the form's own checks give the same errors again
    for field, messages in saved["errors"].items():
        # What a service refused (a bucket that did not answer, a duplicate) is only in what was kept.
        field = field if field in form.fields else None
        shown = form.errors.get(field or NON_FIELD_ERRORS, [])
        for message in messages:
            if message not in shown:
                form.add_error(field, message)
    return form


def _name(form_class: type) -> str:
    return f"{form_class.__module__}.{form_class.__qualname__}"
