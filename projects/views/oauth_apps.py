"""Upload sources: the project's own OAuth applications for Dropbox, Google Drive and the rest.
Admins and the owner only. The client secret is write-only here: shown masked, blank keeps it."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from core.bases import absolute
from core.prg import form_restore, redirect_with_form
from projects import services
from projects.access import project_view
from projects.models import OAUTH_PROVIDER_SPECS, OAuthProvider, Role


class OAuthAppForm(forms.Form):
    client_id = forms.CharField(max_length=255)
    client_secret = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False))
    enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        initial=True,
        help_text="Off: the uploader signs people in with its own default app for this source again.",
    )

    def __init__(self, *args, provider: str, app=None, **kwargs):
        super().__init__(*args, **kwargs)
        spec = OAUTH_PROVIDER_SPECS[provider]
        self.fields["client_id"].label = spec.id_label
        self.fields["client_secret"].label = spec.secret_label
        self.fields["client_secret"].widget.attrs["autocomplete"] = "new-password"
        if app is not None:
            self.fields["client_secret"].help_text = f"Stored: {app.masked_secret}. Leave blank to keep it."
        # A form sent back with an error shows the secret as typed (the page is not cached), so it
        # need not be pasted again.
        self.fields["client_secret"].widget.render_value = self.is_bound


@project_view(role=Role.ADMIN, methods=("GET",))
def oauth_app_list(request, project):
    apps = {app.provider: app for app in project.oauth_apps.all()}
    sources = [{"provider": value, "label": label, "app": apps.get(value)} for value, label in OAuthProvider.choices]
    sources_url = f"{absolute(settings.UPLOAD_BASE, request)}sources/?pub_key={project.public_key}"
    context = {"project": project, "sources": sources, "sources_url": sources_url}
    return render(request, "projects/oauth_apps.html", context)


@project_view(role=Role.ADMIN, methods=("GET",))
def oauth_app_edit(request, project, provider):
    app = project.oauth_apps.filter(provider=_provider(provider)).first()
    initial = {"client_id": app.client_id, "enabled": app.enabled} if app else None
    form = form_restore(request, OAuthAppForm, provider=provider, app=app)
    return _render_edit(
        request, project, provider, app, form or OAuthAppForm(initial=initial, provider=provider, app=app)
    )


@project_view(role=Role.ADMIN, methods=("POST",))
def oauth_app_save(request, project, provider):
    app = project.oauth_apps.filter(provider=_provider(provider)).first()
    form = OAuthAppForm(request.POST, provider=provider, app=app)
    if form.is_valid():
        try:
            services.oauth_app_save(project=project, provider=provider, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{OAuthProvider(provider).label} app saved.")
            return redirect("projects:oauth_apps", project_id=project.pk)
    return redirect_with_form(request, form, "projects:oauth_app_edit", project_id=project.pk, provider=provider)


@project_view(role=Role.ADMIN, methods=("POST",))
def oauth_app_delete(request, project, provider):
    app = get_object_or_404(project.oauth_apps, provider=_provider(provider))
    services.oauth_app_delete(oauth_app=app)
    messages.success(request, f"{app.get_provider_display()} app removed. The uploader uses its own default app again.")
    return redirect("projects:oauth_apps", project_id=project.pk)


def _provider(provider: str) -> str:
    if provider not in OAUTH_PROVIDER_SPECS:
        raise Http404("No such upload source.")
    return provider


def _render_edit(request, project, provider, app, form):
    context = {
        "project": project,
        "provider": provider,
        "label": OAuthProvider(provider).label,
        "app": app,
        "form": form,
        "sources_url": f"{absolute(settings.UPLOAD_BASE, request)}sources/?pub_key={project.public_key}",
    }
    response = render(request, "projects/oauth_app_edit.html", context)
    response["Cache-Control"] = "no-store"
    return response
