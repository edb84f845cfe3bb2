"""Static files' URLs from the manifest, each worked out once per process."""

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

KEPT = 1024  # names at most; `{% static %}` of a variable could name any number


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage with each URL kept once worked out: a dashboard page's dozen
    `{% static %}` tags took 17 us each (the manifest lookup, a URL join, quoting and unquoting),
    for the answer the process's manifest gives every time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls = {}

    def url(self, name, force=False):
        key = (name, force, settings.DEBUG, self.base_url)  # what the URL depends on besides the manifest
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= KEPT:
                self._urls.clear()
            url = self._urls[key] = super().url(name, force)
        return url
