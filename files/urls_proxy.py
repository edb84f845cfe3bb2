"""The proxy endpoint, mounted at PROXY_BASE: `{public_key}/[-/op/params/...]{remote_url}`
(see files.views.proxy for the shape)."""

from django.urls import re_path

from files.views import proxy

app_name = "proxy"

urlpatterns = [
    re_path(r"^(?P<public_key>[0-9A-Za-z]+)/(?P<rest>.+)$", proxy.proxy_view, name="fetch"),
]
