"""Prints deploy/nginx.conf.template with every ${NAME} filled in from the environment.

    NGINX_DASHBOARD_HOST=files.example.com NGINX_CDN_HOST=cdn.example.com \
        python3 deploy/render.py > /etc/nginx/conf.d/filedock.conf && nginx -t && nginx -s reload

Only ${NAME} is replaced (nginx's own $variables are left alone); a name neither in the
environment nor in DEFAULTS stops it with a message. Standard library only.
"""

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
DEFAULTS = {
    "NGINX_APP": "127.0.0.1:8000",  # gunicorn's --bind
    "NGINX_DASHBOARD_LISTEN": "80",
    "NGINX_CDN_LISTEN": "80",
    "NGINX_ORIGIN_LISTEN": "127.0.0.1:8088",
    "NGINX_PURGE_LISTEN": "127.0.0.1:8089",
    "NGINX_PURGE_ALLOW": "127.0.0.1",  # the app servers' address (one address or CIDR)
    "NGINX_CACHE_DIR": "/var/cache/nginx/filedock",
    "NGINX_CACHE_KEYS_ZONE": "64m",  # about 8,000 keys per megabyte
    "NGINX_CACHE_SIZE": "10g",
    "NGINX_CACHE_INACTIVE": "30d",  # an entry nobody asked for in this long is dropped
    # Django's own default (FILEDOCK_VAR_DIR/media, VAR_DIR being ./var); only read with local storage.
    "FILEDOCK_MEDIA_ROOT": str(Path(os.environ.get("FILEDOCK_VAR_DIR", "var")).resolve() / "media"),
    # Django's default too; on the same filesystem as the storage root, writable by nginx's user.
    # FILEDOCK_EDGE_SECRET has no default: set the same value for Django.
    "FILEDOCK_EDGE_BODY_DIR": str(Path(os.environ.get("FILEDOCK_VAR_DIR", "var")).resolve() / "edge-bodies"),
}


# Written inside an nginx string, where `$` would start a variable: what secrets.token_urlsafe() makes.
SECRET = re.compile(r"[A-Za-z0-9_-]{32,}")


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with each ${NAME} replaced by values[NAME] or its default; raises KeyError
    naming the first one that has neither, ValueError for a secret nginx cannot hold or too short."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in values and name not in DEFAULTS})
    if missing:
        raise KeyError(", ".join(missing))
    if "FILEDOCK_EDGE_SECRET" in PLACEHOLDER.findall(template) and not SECRET.fullmatch(values["FILEDOCK_EDGE_SECRET"]):
        raise ValueError("FILEDOCK_EDGE_SECRET: 32 or more of A-Z a-z 0-9 _ - (secrets.token_urlsafe(32))")
    return PLACEHOLDER.sub(lambda match: values.get(match[1]) or DEFAULTS[match[1]], template)


def main() -> None:
    try:
        sys.stdout.write(render(TEMPLATE.read_text(), os.environ))
    except KeyError as exc:
        sys.exit(f"deploy/render.py: set {exc.args[0]} (see the README's “The edge cache”)")
    except ValueError as exc:
        sys.exit(f"deploy/render.py: {exc}")


if __name__ == "__main__":
    main()
