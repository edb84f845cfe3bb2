"""An uploaded script cannot run as the dashboard: the CDN has an origin of its own, the
dashboard's old /cdn/ path redirects there, and the dashboard's script-src names only itself. A
page of the dashboard that somehow gained a <script> pointing at an uploaded file (an injection)
would still not run it."""

import re
import urllib.request

from django.core.files.base import ContentFile
from playwright.sync_api import expect

from files.services import file_upload
from tests.browser.pages import live_port
from tests.factories import PASSWORD

SCRIPT = b"window.pwned = (window.pwned || 0) + 1;"

LOAD = """async (sources) => {
  window.violations = [];
  document.addEventListener('securitypolicyviolation', (event) => window.violations.push(event.blockedURI));
  const results = [];
  for (const src of sources) {
    results.push(await new Promise((resolve) => {
      const tag = document.createElement('script');
      tag.src = src;
      tag.onload = () => resolve('loaded');
      tag.onerror = () => resolve('blocked');
      document.head.appendChild(tag);
    }));
  }
  return results;
}"""


def test_an_uploaded_script_does_not_run_on_the_dashboard(page, live_server, cdn_origin, team):
    script = file_upload(project=team.project, content=ContentFile(SCRIPT, name="x.js"), filename="x.js", store=True)
    with urllib.request.urlopen(f"{cdn_origin}/{script.uuid}/", timeout=10) as response:  # it is there to take
        assert response.read() == SCRIPT and "javascript" in response.headers["Content-Type"]

    dashboard = f"http://127.0.0.1:{live_port(live_server)}"
    page.goto(f"{dashboard}/accounts/login/")
    page.fill("input[name=login]", team.owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/projects/"))

    results = page.evaluate(LOAD, [f"/cdn/{script.uuid}/", f"{cdn_origin}/{script.uuid}/"])
    assert results == ["blocked", "blocked"]
    assert page.evaluate("window.pwned") is None
    assert len(page.evaluate("window.violations")) == 2  # both refused by the Content-Security-Policy
    csp = page.evaluate("() => fetch(location.href).then((r) => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp and cdn_origin not in csp.split("script-src")[1].split(";")[0]
