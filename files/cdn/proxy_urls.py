"""The proxy endpoint, mounted at PROXY_BASE: `{public_key}/[-/op/params/...]{remote_url}`
(see files.cdn.proxy_views for the shape)."""

from django.urls import re_path

from files.cdn import proxy_views as proxy

app_name = "proxy"

urlpatterns = [
    re_path(r"^(?P<public_key>[0-9A-Za-z]+)/(?P<rest>.+)$", proxy.proxy_view, name="fetch"),
]
