"""The Proxy settings page: endpoint, allowed domains, add and remove (roles: tests/projects/test_access.py)."""

from django.urls import reverse

from files.cdn import proxy
from files.models import ProxyDomain


def test_admin_sees_the_endpoint_with_a_copy_button_and_the_domains(login, team):
    proxy.proxy_domain_add(project=team.project, pattern="*.example.com")
    response = login(team.admin).get(reverse("files:proxy:index", args=[team.project.pk]))
    page = response.content.decode()
    endpoint = f"http://testserver/proxy/{team.project.public_key}/"
    assert response.status_code == 200
    assert f'data-copy="{endpoint}"' in page
    assert "<code>*.example.com</code>" in page
    assert 'aria-current="page">Proxy</a>' in page


def test_adding_a_domain_normalises_it_and_lists_it(login, team):
    client = login(team.owner)
    response = client.post(reverse("files:proxy:add", args=[team.project.pk]), {"pattern": "Images.Example.com"})
    assert response.status_code == 302
    assert list(team.project.proxy_domains.values_list("pattern", flat=True)) == ["images.example.com"]
    assert "images.example.com added" in client.get(response["Location"]).content.decode()


def test_a_bad_domain_shows_the_error_and_changes_nothing(login, team):
    client = login(team.admin)
    for value, message in [
        ("https://example.com/x", "without scheme or path"),
        ("", "This field is required"),
        ("example.com:8080", "Leave out the port"),
        ("a.*.com", "not a valid host name"),
    ]:
        response = client.post(reverse("files:proxy:add", args=[team.project.pk]), {"pattern": value}, follow=True)
        assert response.redirect_chain == [(reverse("files:proxy:index", args=[team.project.pk]), 302)], value
        assert message in response.content.decode(), value
    assert not ProxyDomain.objects.exists()


def test_a_duplicate_domain_is_refused_with_a_message(login, team):
    proxy.proxy_domain_add(project=team.project, pattern="example.com")
    response = login(team.admin).post(
        reverse("files:proxy:add", args=[team.project.pk]), {"pattern": "EXAMPLE.com"}, follow=True
    )
    assert "example.com is already allowed" in response.content.decode()
    assert team.project.proxy_domains.count() == 1


def test_removing_a_domain(login, team):
    domain = proxy.proxy_domain_add(project=team.project, pattern="example.com")
    response = login(team.admin).post(reverse("files:proxy:remove", args=[team.project.pk, domain.pk]))
    assert response.status_code == 302 and not ProxyDomain.objects.exists()


def test_another_projects_domain_cannot_be_removed_through_own_project(login, team):
    own_project = team.outsider.memberships.get().project
    domain = proxy.proxy_domain_add(project=team.project, pattern="example.com")
    response = login(team.outsider).post(reverse("files:proxy:remove", args=[own_project.pk, domain.pk]))
    assert response.status_code == 404 and ProxyDomain.objects.filter(pk=domain.pk).exists()


def test_member_cannot_add_a_domain(login, team):
    response = login(team.member).post(reverse("files:proxy:add", args=[team.project.pk]), {"pattern": "example.com"})
    assert response.status_code == 403 and not ProxyDomain.objects.exists()


def test_sidebar_shows_proxy_to_admins_only(login, team):
    overview = reverse("projects:overview", args=[team.project.pk])
    link = reverse("files:proxy:index", args=[team.project.pk])
    assert link in login(team.admin).get(overview).content.decode()
    assert link not in login(team.member).get(overview).content.decode()
