import uuid

from django.db import models
from django.utils import timezone

from core.fields import EncryptedTextField


class FileQuerySet(models.QuerySet):
    def present(self):
        return self.filter(datetime_removed__isnull=True)

    def stored(self):
        return self.present().filter(datetime_stored__isnull=False)

    def temporary(self):
        return self.present().filter(datetime_stored__isnull=True)


class File(models.Model):
    """An uploaded file. Its bytes live under `storage_key` in the storage named by `storage_target`
    (the project's own bucket), or in the server's default storage when that is empty.

    A row is only ever created after its bytes were written (see files.services.file_upload).
    """

    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: file_project_uploaded starts with project_id and serves every lookup by
    # project, and one index fewer is one write fewer per upload, store and expiry.
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="files", db_index=False)
    original_filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=255, default="application/octet-stream")
    # Pillow's reading of an image: format, width, height, color_mode, dpi, orientation, ...
    image_info = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Add-on results by add-on name (uc_clamav_virus_scan, aws_rekognition_detect_moderation_labels),
    # in Uploadcare's appdata shape.
    appdata = models.JSONField(default=dict, blank=True)
    # What ffprobe found in a video or audio file ({"video": …, "audio": …}, Uploadcare's
    # content_info shape), filled in the background; null until analysed or for other files.
    media_info = models.JSONField(null=True, blank=True)
    # Set when a malware scan found the file infected (the files browser filters on it).
    infected = models.BooleanField(default=False)
    source = models.CharField(max_length=20, default="upload")
    storage_key = models.CharField(max_length=255, editable=False)
    # Where the bytes live, fixed at upload: null is the server's default storage. RESTRICT: a
    # bucket holding files is never deleted on its own, only together with its project. Indexed
    # only where set (file_storage_target): most files have none, and an index on all of them
    # would cost a write on every upload and removal.
    storage_target = models.ForeignKey(
        "files.BucketConnection",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.RESTRICT,
        related_name="+",
        db_index=False,
    )
    datetime_uploaded = models.DateTimeField(default=timezone.now)
    datetime_stored = models.DateTimeField(null=True, blank=True)
    datetime_removed = models.DateTimeField(null=True, blank=True)

    objects = FileQuerySet.as_manager()

    class Meta:
        indexes = [
            # Keyset pagination of a project's files, newest first (dashboard and REST list).
            models.Index(fields=["project", "-datetime_uploaded", "-uuid"], name="file_project_uploaded"),
            # The expiry job's scan for temporary files.
            models.Index(
                fields=["datetime_uploaded"],
                name="file_temporary_uploaded",
                condition=models.Q(datetime_stored__isnull=True, datetime_removed__isnull=True),
            ),
            # The files in a bucket (custom storage), for its usage and the RESTRICT check.
            models.Index(
                fields=["project", "-datetime_uploaded", "-uuid"],
                name="file_project_infected",
                condition=models.Q(infected=True),  # the files browser's "Infected" filter
            ),
            models.Index(
                fields=["storage_target"], name="file_storage_target", condition=models.Q(storage_target__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.uuid})"

    @property
    def is_image(self) -> bool:
        return self.image_info is not None

    @property
    def is_stored(self) -> bool:
        return self.datetime_stored is not None

    @property
    def is_removed(self) -> bool:
        return self.datetime_removed is not None


class Group(models.Model):
    """An ordered set of files, addressed as `{uuid}~{count}`."""

    id = models.CharField(primary_key=True, max_length=64, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="groups")
    # [{"uuid": "...", "effects": "-/resize/100x/"}, ...] in the order given.
    items = models.JSONField(default=list)
    datetime_created = models.DateTimeField(default=timezone.now)
    datetime_stored = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-datetime_created"], name="group_project_created")]

    def __str__(self) -> str:
        return self.id

    @property
    def files_count(self) -> int:
        return len(self.items)


class MultipartUpload(models.Model):
    """A multipart upload between `multipart/start/` and `multipart/complete/`.

    Its parts are kept in storage under `parts/{uuid}/{n}` until completion joins them.
    """

    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="multipart_uploads")
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=255, blank=True)
    part_size = models.BigIntegerField()
    store = models.CharField(max_length=4, default="auto")
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)  # normalised at start, given to the file at completion
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A tus upload (files.uploads.tus): the bytes received so far, written in order; null for
    # Uploadcare's multipart, whose parts arrive in any order.
    received = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.filename} ({self.uuid})"

    @property
    def parts_count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def part_key(self, index: int) -> str:
        return f"parts/{self.uuid}/{index}"


class FromUrlTask(models.Model):
    """An upload from a URL, fetched by a worker; the client polls its status by token."""

    class Status(models.TextChoices):
        WAITING = "waiting"
        PROGRESS = "progress"
        SUCCESS = "success"
        ERROR = "error"

    token = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="from_url_tasks")
    source_url = models.URLField(max_length=2000)
    filename = models.CharField(max_length=255, blank=True)
    store = models.CharField(max_length=4, default="auto")
    metadata = models.JSONField(default=dict, blank=True)
    save_duplicates = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a worker took it (see from_url_fetch)
    file = models.ForeignKey(File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "source_url"], name="fromurl_project_source")]

    def __str__(self) -> str:
        return f"{self.source_url} ({self.status})"


class Event(models.Model):
    """The outbox: one row per event, written in the same transaction as the change."""

    class Type(models.TextChoices):
        FILE_UPLOADED = "file.uploaded"
        FILE_STORED = "file.stored"
        FILE_DELETED = "file.deleted"
        FILE_INFO_UPDATED = "file.info_updated"
        FILE_INFECTED = "file.infected"
        PROJECT_USAGE_ALERT = "project.usage_alert"

    # No database constraint: its check ran once per inserted row, a sixth of expiry's time, and
    # every writer copies project_id from a row that has the constraint (a file's). Deleting a
    # project still deletes its events (Django's CASCADE), and the relay ignores any left over.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="events", db_constraint=False
    )
    type = models.CharField(max_length=32, choices=Type.choices)
    file_uuid = models.UUIDField(null=True, blank=True)
    # The file's info at the time of the event, as the webhook payload will carry it. Empty in
    # expiry's file.deleted events: the relay reads the removed file (files.outbox.relay.event_file_infos).
    payload = models.JSONField(default=dict)
    initiator = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The relay's claim: unrelayed events in order of id. An index in any other order
            # left each claim stepping over every event relayed before it.
            models.Index(fields=["id"], name="event_unrelayed", condition=models.Q(relayed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.file_uuid or ''}".rstrip()


class BucketConnection(models.Model):
    """A project's S3-compatible bucket: a backup target, or the primary storage for new uploads.

    Never edited after connecting: changing a bucket is a disconnect and a new connection, so the
    files already living in (or copied to) the old bucket keep a truthful record of where.
    """

    class Purpose(models.TextChoices):
        BACKUP = "backup", "Backup"
        STORAGE = "storage", "Custom storage"

    class Provider(models.TextChoices):
        AWS = "aws", "AWS S3"
        SELECTEL = "selectel", "Selectel"
        CUSTOM = "custom", "Other S3-compatible"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="bucket_connections")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.CUSTOM)
    endpoint_url = models.URLField(max_length=500, blank=True)
    region = models.CharField(max_length=64, blank=True)
    bucket = models.CharField(max_length=63)
    access_key = models.CharField(max_length=255)
    secret_key = EncryptedTextField()
    prefix = models.CharField(max_length=255, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_ok = models.BooleanField(null=True)
    test_message = models.TextField(blank=True)
    # Backfill of files stored before the connection: rows are created in uuid order from here.
    backfill_cursor = models.UUIDField(null=True, blank=True)
    backfill_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "purpose"],
                condition=models.Q(disconnected_at__isnull=True),
                name="bucket_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.bucket}"

    @property
    def is_active(self) -> bool:
        return self.disconnected_at is None

    @property
    def location(self) -> str:
        """Where in the customer's account, for people: endpoint (or region), bucket and prefix."""
        host = self.endpoint_url or f"AWS {self.region or 'us-east-1'}"
        return f"{host} · {self.bucket}/{self.prefix}"


class FileBackup(models.Model):
    """One file's copy to one backup target: a job row driven by a claim, retries and a sweep."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COPYING = "copying", "Copying"
        DONE = "done", "Backed up"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (file removed)"
        CANCELLED = "cancelled", "Cancelled (disconnected)"

    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="backups")
    target = models.ForeignKey(BucketConnection, on_delete=models.CASCADE, related_name="backups")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may (re)try: now for new jobs, later after a failure, and for a job being
    # copied the end of its lease, after which a job whose worker died is picked up again.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    copied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "target"], name="filebackup_one_per_target")]
        indexes = [models.Index(fields=["target", "status"], name="filebackup_target_status")]

    def __str__(self) -> str:
        return f"{self.file_id} → {self.target_id}: {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.COPYING)


class ProxyDomain(models.Model):
    """A host the project's proxy endpoint may fetch from: `example.com` exactly, or
    `*.example.com` for any subdomain at any depth (not example.com itself). Stored lowercase, IDNA."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="proxy_domains")
    pattern = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pattern"]
        constraints = [models.UniqueConstraint(fields=["project", "pattern"], name="proxydomain_unique_pattern")]

    def __str__(self) -> str:
        return self.pattern


class ProxiedFile(models.Model):
    """The cached copy of a remote file fetched through a project's proxy endpoint.

    Its bytes live in the default storage under `proxy/{project}/{url_hash}/{version}` (a fresh
    version per download, so a replaced copy never mixes with renderings of the old one).
    `fetched_at` is when these bytes were downloaded; a 304 only moves `revalidate_after`.
    """

    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="proxied_files")
    url = models.CharField(max_length=2000)
    url_hash = models.CharField(max_length=64)  # sha256 of `url`, which is too long to index
    storage_key = models.CharField(max_length=255)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=255, default="application/octet-stream")
    image_info = models.JSONField(null=True, blank=True)
    etag = models.CharField(max_length=255, blank=True)  # the origin's, for If-None-Match
    last_modified = models.CharField(max_length=64, blank=True)  # the origin's, for If-Modified-Since
    fetched_at = models.DateTimeField(default=timezone.now)
    revalidate_after = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(default=timezone.now)  # last served, to the hour: the cache's LRU order

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "url_hash"], name="proxiedfile_unique_url")]

    def __str__(self) -> str:
        return self.url

    @property
    def is_image(self) -> bool:
        return self.image_info is not None

    @property
    def version(self) -> str:
        return self.storage_key.rsplit("/", 1)[-1]


class Rendering(models.Model):
    """A rendering the CDN or the proxy keeps (files.cdn.images.kept): an image operation chain's
    result, a gif2video, a JSON answer. With the project's proxied copies it is the project's
    cache, held under FILEDOCK_CACHE_BUDGET bytes by evicting the least recently used
    (files.cdn.cache)."""

    storage_key = models.CharField(max_length=512, primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    file = models.ForeignKey(File, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    proxied = models.ForeignKey(ProxiedFile, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    size = models.BigIntegerField()
    used_at = models.DateTimeField(default=timezone.now)  # last served, to the hour

    class Meta:
        indexes = [models.Index(fields=["project", "used_at"], name="rendering_project_used")]

    def __str__(self) -> str:
        return self.storage_key


class EdgeEntry(models.Model):
    """A CDN URL the edge cache may hold (files.edge): recorded when Django answers it `public`,
    purged from the edge and deleted when the file goes or its project turns signed URLs on."""

    key = models.CharField(max_length=2048, primary_key=True)  # nginx's $uri$is_args$args
    file_id = models.UUIDField(db_index=True)  # no foreign key: the entry outlives the file's row
    project_id = models.UUIDField(db_index=True)

    def __str__(self) -> str:
        return self.key


class AddonRun(models.Model):
    """One add-on execution on one file (REST `addons/{name}/execute/`, or a project setting):
    the row is the job, claimed by a worker, retried while its tool is away, never lost."""

    class Status(models.TextChoices):
        WAITING = "waiting"
        IN_PROGRESS = "in_progress"
        DONE = "done"
        ERROR = "error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the request_id
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="addon_runs")
    addon = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="addonrun_due",
                condition=models.Q(status__in=["waiting", "in_progress"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.addon} {self.file_id} {self.status}"


class FileTag(models.Model):
    """One tag of a file (REST v0.7 `files/{uuid}/tags/`, `files/search/`): lowercased, trimmed.
    A row per tag, so a search by tag is an index lookup at any number of files."""

    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="tag_rows")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+", db_index=False)
    tag = models.CharField(max_length=100)  # Uploadcare's limit, which pyuploadcare checks too

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "tag"], name="filetag_unique")]
        indexes = [models.Index(fields=["project", "tag"], name="filetag_project_tag")]

    def __str__(self) -> str:
        return self.tag


class Conversion(models.Model):
    """A document or video conversion (REST `convert/document/`, `convert/video/`): the row is the
    job, claimed and retried like the others; `token` is what the status call names. The result's
    UUID is given out when the job is made, and its File row is written with it when done."""

    class Kind(models.TextChoices):
        DOCUMENT = "document"
        VIDEO = "video"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        FINISHED = "finished"
        FAILED = "failed"
        CANCELLED = "cancelled"

    token = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(File, on_delete=models.CASCADE, related_name="conversions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    path = models.CharField(max_length=1000)  # as asked: {uuid}/document/-/format/pdf/
    params = models.JSONField(default=dict, blank=True)  # the parsed path: format, page, size, cut, thumbs…
    store = models.BooleanField(null=True)  # null: the project's default
    save_in_group = models.BooleanField(default=False)
    result_uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    thumbnails_group_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="conversion_due",
                condition=models.Q(status__in=["pending", "processing"]),
            ),
            models.Index(fields=["source", "-created_at"], name="conversion_source"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.token} {self.status}"
