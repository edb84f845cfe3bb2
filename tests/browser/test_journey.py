"""A new user's first minutes, in Chromium: sign up, confirm, keys, invite, delete a project."""

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from projects.models import Project

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.browser
def test_new_user_journey(page, live_server, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "newcomer@example.com")
    page.fill("input[name=password1]", "a-long-Passw0rd!")
    page.fill("input[name=password2]", "a-long-Passw0rd!")
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_text(re.compile("verif|confirm", re.I)).first).to_be_visible()

    confirm_url = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(confirm_url)
    page.locator("form button[type=submit]").last.click()

    project = Project.objects.get(memberships__user__email="newcomer@example.com")
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    expect(page.locator("#public-key")).to_have_text(project.public_key)
    expect(page.get_by_text(f"{live_server.url}/upload/").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    page.get_by_role("link", name="API keys").click()
    page.fill("input[name=label]", "Backend")
    page.get_by_role("button", name="Create key").click()
    secret = project.secret_keys.get(label="Backend").secret
    expect(page.locator("#new-secret-value")).to_have_text(secret)
    page.get_by_role("button", name="Copy secret key").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.reload()
    expect(page.locator("#new-secret-value")).to_have_count(0)
    expect(page.get_by_text(secret)).to_have_count(0)

    page.get_by_role("link", name="Collaborators").click()
    page.fill("input[name=email]", "teammate@example.com")
    page.select_option("select[name=role]", "viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to teammate@example.com.")).to_be_visible()
    assert "teammate@example.com" in mail.outbox[-1].to

    page.locator("[data-testid=project-switcher] summary").click()
    page.get_by_role("link", name="+ New project").click()
    page.fill("input[name=name]", "Scratch")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name="Settings").click()
    page.fill("input[name=confirm_name]", "Scratch")
    page.get_by_role("button", name="Delete this project").click()
    expect(page.get_by_text("Project “Scratch” deleted.")).to_be_visible()
    assert not Project.objects.live().filter(name="Scratch").exists()
