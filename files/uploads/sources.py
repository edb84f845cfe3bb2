"""The project's upload sources for its uploader: which custom OAuth apps to sign in with.

Public like the rest of the Upload API (the public key identifies the project), so it carries
client ids only: a client id is public by design, a client secret never leaves the server."""

from django.http import JsonResponse

from files.uploads.auth import project_for
from files.uploads.ratelimit import upload_rate_limit
from files.uploads.views import upload_endpoint


@upload_rate_limit
@upload_endpoint("GET")
def sources(request):
    project = project_for(request.GET, "pub_key", request)
    response = JsonResponse({"sources": project.oauth_apps.upload_sources()})
    # Uploaders on many pages fetch this; a short cache keeps them fresh after an edit in the dashboard.
    response["Cache-Control"] = "public, max-age=60"
    return response
