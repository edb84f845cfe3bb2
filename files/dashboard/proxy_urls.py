"""The project's Proxy settings page, in its own namespace (files:proxy:...)."""

from django.urls import path

from files.dashboard import proxy

app_name = "proxy"

base = "projects/<uuid:project_id>/proxy/"

urlpatterns = [
    path(base, proxy.proxy_settings, name="index"),
    path(base + "domains/", proxy.proxy_domain_add, name="add"),
    path(base + "domains/<uuid:proxy_domain_id>/remove/", proxy.proxy_domain_remove, name="remove"),
]
