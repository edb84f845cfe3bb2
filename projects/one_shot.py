"""A new secret (API key, webhook signing secret) shown once, on the page view after its creation.

Between the two requests it waits in the session, encrypted with the column key: the session
table never holds it in plain text, and the first view that shows it removes it.
"""

from core.fields import decrypt, encrypt

# A new project's first secret key (at signup, or a project created in the dashboard): kept for
# the project's id, shown by whichever of its overview and keys pages is opened first.
FIRST_SECRET = "project_first_secret"


def secret_keep(request, name: str, *, owner_id, secret: str) -> None:
    request.session[name] = {"id": str(owner_id), "secret": encrypt(secret)}


def secret_pop(request, name: str, owner_id=None) -> dict | None:
    """{"id", "secret"} for the page to show once; left in place if it belongs to another object
    than `owner_id` (the page of another webhook, say)."""
    kept = request.session.get(name)
    if not kept or (owner_id is not None and kept["id"] != str(owner_id)):
        return None
    del request.session[name]
    return {"id": kept["id"], "secret": decrypt(kept["secret"])}
