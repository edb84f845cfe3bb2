"""Every signed-in dashboard page fits a phone (375 px) and a laptop (1280 px) without sideways scrolling.

The pages are found by following the dashboard's own links from the project overview, as a person
would; a check at the end makes sure the walk reached every project page the URLconf declares.
"""

import importlib
import io
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps as global_apps
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from PIL import Image

from billing import services as billing
from billing.models import Plan, Subscription
from billing.periods import month_bounds, today
from files.cdn.proxy import proxy_domain_add
from files.outbox.relay import outbox_relay
from files.services import file_upload
from projects.apilogs import api_log_drain
from projects.models import WebhookDelivery
from projects.services import (
    invitation_accept,
    invitation_create,
    oauth_app_save,
    project_create,
    secret_key_create,
)
from projects.webhooks.delivery import webhook_deliveries_attempt
from projects.webhooks.services import webhook_create, webhook_secret_generate
from tests.browser.pages import sign_in
from tests.factories import UserFactory
from tests.helpers import ACCEPT

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "responsive"
WIDTHS = (1280, 375)  # each page is loaded once and laid out at both, the window resized in between
HEIGHT = 900
DASHBOARD = ("/projects/", "/billing/", "/account/", "/accounts/")
NOT_PAGES = ("/accounts/logout/", "/accounts/login/", "/accounts/signup/")
PER_VIEW = 2  # eleven upload sources share one edit page: two of each kind are enough


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 900), (52, 81, 224)).save(buffer, "JPEG")
    return buffer.getvalue()


def _owner_with_a_busy_project(receiver_url: str):
    """An owner on Pro with what a few weeks of use leave behind, long names and URLs included."""
    importlib.import_module("billing.migrations.0002_default_plans").create_plans(global_apps, None)
    owner = UserFactory(email="maria.fernandez-whitfield@storefront-example.com")
    project = project_create(owner=owner, name="Storefront production (EU)")
    project_create(owner=owner, name="Mobile app — iOS & Android")
    start, end = month_bounds(today())
    Subscription.objects.create(
        account=owner, plan=Plan.objects.get(slug="pro"), current_period_start=start, current_period_end=end
    )
    billing.billing_details_save(
        account=owner, name="Storefront Trading GmbH", address_line1="Hauptstraße 5", city="Berlin", country="DE"
    )
    billing.invoice_issue(account=owner, period_start=start, period_end=end, plan=Plan.objects.get(slug="pro"))

    _, secret = secret_key_create(project=project, label="Production backend (eu-central-1)", created_by=owner)
    Client().get(  # a REST call, so the API logs have a line to open
        "/api/files/",
        HTTP_ACCEPT=ACCEPT,
        HTTP_AUTHORIZATION=f"Uploadcare.Simple {project.public_key}:{secret}",
    )
    api_log_drain()
    webhook_create(
        project=project, target_url=receiver_url, event="file.uploaded", signing_secret=webhook_secret_generate()
    )
    webhook_create(
        project=project,
        target_url="https://hooks.storefront-example.com/integrations/filedock/v1/events?source=production",
        event="file.deleted",
        signing_secret=webhook_secret_generate(),
    )
    file_upload(
        project=project,
        content=ContentFile(_jpeg(), name="summer-campaign-hero-banner-2026-final-v3-approved.jpg"),
        filename="summer-campaign-hero-banner-2026-final-v3-approved.jpg",
        store=True,
        metadata={"campaign": "summer-2026", "uploaded_by": "marketing-automation-pipeline"},
    )
    file_upload(
        project=project,
        content=ContentFile(b"order,total\n1042,19.99\n", name="orders-export.csv"),
        filename="orders-export.csv",
        store=False,
    )
    outbox_relay()  # the upload's event becomes a delivery, sent below and logged with its attempt
    webhook_deliveries_attempt(
        delivery_ids=list(WebhookDelivery.objects.filter(webhook__project=project).values_list("pk", flat=True))
    )

    teammate = UserFactory(email="jonas.becker@design-studio-example.com")
    invitation = invitation_create(project=project, email=teammate.email, role="member", invited_by=owner)
    invitation_accept(invitation=invitation, user=teammate)
    invitation_create(project=project, email="freelance.photographer@example.org", role="viewer", invited_by=owner)
    oauth_app_save(
        project=project,
        provider="dropbox",
        client_id="k4x9q2m7v1b8n3c",
        client_secret="s3cret-value",
        enabled=True,
    )
    proxy_domain_add(project=project, pattern="images.storefront-example.com")
    return owner, project


def _project_pages(resolver=None, prefix=""):
    """The view names of every project page a browser can open (GET), from the URLconf."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _project_pages(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and "GET" in getattr(entry.callback, "project_methods", ()):
            yield f"{prefix}{entry.name}"


def _links(page, origin: str) -> list[str]:
    """The dashboard paths the page links to, without query strings (filters and pages of a list)."""
    urls = [urlsplit(href) for href in page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")]
    return [
        url.path
        for url in urls
        if f"{url.scheme}://{url.netloc}" == origin
        and url.path.startswith(DASHBOARD)
        and not url.path.startswith(NOT_PAGES)
    ]


# The text fields a person types into, as the browser would draw them without the dashboard's style.
FIELDS = (
    "main input:not([type=checkbox], [type=radio], [type=hidden], [type=file], [type=submit], [type=button],"
    " [type=range], [type=color]), main select, main textarea"
)
UNSTYLED = """fields => fields
    .filter(field => field.offsetParent !== null && getComputedStyle(field).borderRadius === "0px")
    .map(field => field.name || field.id || field.outerHTML.slice(0, 80))"""


def _measure(page, path: str, name: str) -> list[str]:
    """Opens the page with its folded parts (a delivery's attempts) unfolded and, at each width (the
    window's current one first), saves a screenshot and notes how far the page is wider than the window;
    notes too any text field left as the browser draws it (the dashboard's fields have round corners)."""
    response = page.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    page.eval_on_selector_all("main details", "folds => folds.forEach(fold => { fold.open = true; })")
    too_wide = [f"{path}: field {field} has no style" for field in page.eval_on_selector_all(FIELDS, UNSTYLED)]
    for width in sorted(WIDTHS, key=lambda width: width != page.viewport_size["width"]):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        # JPEG: a full-page PNG of every page at both widths took half the test's time to encode.
        page.screenshot(path=str(ARTIFACTS / str(width) / f"{name}.jpg"), full_page=True, type="jpeg", quality=80)
        if overflow := page.evaluate("document.documentElement.scrollWidth - window.innerWidth"):
            too_wide.append(f"{path} at {width} px: {overflow} px too wide")
    return too_wide


@pytest.mark.browser
def test_every_signed_in_page_fits_a_phone_and_a_laptop(browser, browser_context_args, live_server, httpserver):
    httpserver.expect_request("/hooks/storefront/filedock-events", method="POST").respond_with_data("ok")
    owner, project = _owner_with_a_busy_project(httpserver.url_for("/hooks/storefront/filedock-events"))
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    for width in WIDTHS:
        (ARTIFACTS / str(width)).mkdir(parents=True)

    context = browser.new_context(**{**browser_context_args, "viewport": {"width": WIDTHS[0], "height": HEIGHT}})
    page = context.new_page()
    sign_in(page, owner)
    too_wide, pages, downloads = [], {}, set()  # pages: path -> screenshot name
    # The walk: breadth first from the overview, over the top bar's menus, the sidebars and the lists.
    queue, seen, per_view = [f"/projects/{project.pk}/"], set(), Counter()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        view = resolve(path).view_name
        response = context.request.get(path)
        assert response.status == 200, f"{path} answered {response.status}"
        if not response.headers.get("content-type", "").startswith("text/html"):
            downloads.add(view)  # an invoice PDF, an export: linked and answering, nothing to lay out
            continue
        if per_view[view] >= PER_VIEW:
            continue  # one more page of a kind already seen
        per_view[view] += 1
        pages[path] = view.replace(":", "-") + (f"-{per_view[view]}" if per_view[view] > 1 else "")
        too_wide += _measure(page, path, pages[path])
        queue.extend(_links(page, live_server.url))
    # Views reached through a query string, which the walk leaves out: the grid and the playground.
    photo = project.files.get(original_filename__startswith="summer-campaign")
    for path, name in (
        (f"/projects/{project.pk}/files/?view=grid", "files-grid"),
        (f"/projects/{project.pk}/files/{photo.uuid}/?geometry=scale_crop&width=1200&height=600", "playground"),
    ):
        pages[path] = name
        too_wide += _measure(page, path, name)
    page.goto(f"/projects/{project.pk}/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        for menu in ("[data-testid=project-switcher]", ".account-menu"):
            page.locator(f"{menu} summary").click()
            if overflow := page.evaluate("document.documentElement.scrollWidth - window.innerWidth"):
                too_wide.append(f"{menu} open at {width} px: {overflow} px too wide")
            page.screenshot(path=str(ARTIFACTS / str(width) / f"menu-{menu.strip('.[]').split('=')[-1]}.jpg"))
            page.locator(menu).evaluate("menu => menu.removeAttribute('open')")
    context.close()

    reached = {resolve(urlsplit(path).path).view_name for path in pages} | downloads
    assert set(_project_pages()) <= reached, f"the walk missed {sorted(set(_project_pages()) - reached)}"
    assert {"accounts:audit", "billing:overview", "billing:invoice", "mfa_index", "usersessions_list"} <= reached
    assert not too_wide, "\n".join(too_wide)
