"""The REST API's bodies as the OpenAPI description documents them (built by files.info and the views).

Only for drf-spectacular: the views answer plain dicts, so these serializers never run on a request.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from files.rest.pagination import MAX_LIMIT

METADATA = {"type": "object", "additionalProperties": {"type": "string"}}


@extend_schema_field(METADATA)
class MetadataField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "nullable": True, "additionalProperties": {}})
class FreeObjectField(serializers.JSONField):
    pass


class MimeSerializer(serializers.Serializer):
    mime = serializers.CharField()
    type = serializers.CharField()
    subtype = serializers.CharField()


class ContentInfoSerializer(serializers.Serializer):
    mime = MimeSerializer()
    image = FreeObjectField(required=False, help_text="format, width, height, ... for images only.")


class FileInfoSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    datetime_uploaded = serializers.DateTimeField()
    datetime_stored = serializers.DateTimeField(allow_null=True, help_text="Null while the file is temporary.")
    datetime_removed = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField()
    mime_type = serializers.CharField()
    original_filename = serializers.CharField(allow_blank=True)
    original_file_url = serializers.URLField(allow_null=True, help_text="Null once the file is removed.")
    url = serializers.URLField()
    is_image = serializers.BooleanField()
    is_ready = serializers.BooleanField()
    metadata = MetadataField()
    tags = serializers.ListField(child=serializers.CharField(), help_text="Lowercased, in the order added.")
    content_info = ContentInfoSerializer()
    variations = FreeObjectField(allow_null=True, help_text="Always null.")
    source = serializers.CharField(allow_null=True)
    appdata = FreeObjectField(required=False, help_text="With `include=appdata` only.")


class TotalsSerializer(serializers.Serializer):
    removed = serializers.IntegerField()
    stored = serializers.IntegerField()
    unstored = serializers.IntegerField()


class FilePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total = serializers.IntegerField()
    totals = TotalsSerializer()
    per_page = serializers.IntegerField(max_value=MAX_LIMIT)
    results = FileInfoSerializer(many=True)


class SearchResultSerializer(FileInfoSerializer):
    highlight = FreeObjectField(
        required=False,
        help_text="What matched the full text, in <em>: original_filename and detected_mime_type (lists), "
        "metadata (by key). Not escaped.",
    )


class SearchPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total = serializers.IntegerField()
    per_page = serializers.IntegerField(max_value=100)
    results = SearchResultSerializer(many=True)


class GroupFileSerializer(FileInfoSerializer):
    default_effects = serializers.CharField(allow_blank=True, help_text="The `-/ops/` the group holds the file with.")


class GroupInfoSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`{uuid}~{count}`")
    datetime_created = serializers.DateTimeField()
    datetime_stored = serializers.DateTimeField(allow_null=True)
    files_count = serializers.IntegerField()
    cdn_url = serializers.URLField()
    url = serializers.URLField()
    files = serializers.ListField(
        child=GroupFileSerializer(allow_null=True),
        help_text="Null for a file deleted from the project since.",
    )


class GroupPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total = serializers.IntegerField()
    per_page = serializers.IntegerField(max_value=MAX_LIMIT)
    results = GroupInfoSerializer(many=True)


class BatchResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    problems = serializers.DictField(
        child=serializers.CharField(),
        help_text="Each id as sent that was not processed, with the reason.",
    )
    result = FileInfoSerializer(many=True)


class LocalCopySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["file"])
    result = FileInfoSerializer()


class LocalCopyInputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="A file UUID, `uuid/-/ops/` or a CDN URL.")
    store = serializers.BooleanField(required=False, default=False)
    metadata = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Keys to set on the copy, over the original's."
    )


TAG_LIST = {"type": "array", "items": {"type": "string", "pattern": "^[-_.a-z0-9]{1,100}$"}, "maxItems": 50}
TAGS = {"type": "object", "properties": {"tags": TAG_LIST}, "required": ["tags"]}
TAGS_REPLACE = {"type": "object", "properties": {"tags": TAG_LIST}, "required": ["tags"]}
TAGS_CHANGE = {
    "type": "object",
    "properties": {"add": TAG_LIST, "delete": {"type": "array", "items": {"type": "string"}}},
}
TAGS_CHANGED = {
    "type": "object",
    "properties": {"tags": TAG_LIST, "added": TAG_LIST, "deleted": TAG_LIST},
    "required": ["tags", "added", "deleted"],
}

RANGE = {"type": "object", "properties": {b: {} for b in ("gt", "gte", "lt", "lte")}, "minProperties": 1}
SEARCH_BODY = {
    "type": "object",
    "description": "At least one of query, phrase, exact, datetime_uploaded, size, is_image, tags (ANDed).",
    "properties": {
        "query": {"type": "string", "minLength": 4, "description": "Words in the name, MIME type or metadata."},
        "phrase": {"type": "object", "description": "original_filename, detected_mime_type, metadata: a substring."},
        "exact": {
            "type": "object",
            "description": "uuid, detected_mime_type, original_filename, metadata[key]: lists.",
        },
        "datetime_uploaded": RANGE,
        "size": RANGE,
        "is_image": {"type": "boolean"},
        "tags": {"type": "object", "properties": {"any": TAG_LIST, "all": TAG_LIST, "none": TAG_LIST}},
        "fuzziness": {"type": "boolean"},
        "sort": {"type": "array", "maxItems": 4, "items": {"type": "string"}},
    },
}

REMOTE_COPY_BODY = {
    "type": "object",
    "required": ["source", "target"],
    "properties": {
        "source": {"type": "string", "description": "A file UUID, `uuid/-/ops/` or a CDN URL."},
        "target": {"type": "string", "description": "A connected bucket's name (the project's Storage page)."},
        "make_public": {"type": "boolean", "default": True},
        "pattern": {
            "type": "string",
            "default": "${default}",
            "description": "${default} = ${uuid}/${auto_filename}; ${auto_filename} = ${filename}${effects}${ext}.",
        },
    },
}
REMOTE_COPY_RESULT = {
    "type": "object",
    "properties": {"type": {"type": "string", "enum": ["url"]}, "result": {"type": "string", "format": "uri"}},
}

BATCH_BODY = {"type": "array", "items": {"type": "string"}, "maxItems": 100, "description": "File UUIDs."}
METADATA_VALUE = OpenApiTypes.STR


def page_parameters(key: str) -> list[OpenApiParameter]:
    """The query of a keyset page (files.rest.pagination.Cursor)."""
    return [
        OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT}, default 100."),
        OpenApiParameter("ordering", str, enum=[key, f"-{key}"]),
        OpenApiParameter("from", OpenApiTypes.DATETIME, description="Where the page starts (inclusive)."),
        OpenApiParameter("from_id", str, description="The first row's id, from a `next`/`previous` link."),
        OpenApiParameter("offset", int, description="Rows at exactly `from` already seen."),
    ]


INCLUDE = OpenApiParameter("include", str, description="`appdata` adds each file's `appdata`.")
FILE_FILTERS = [
    OpenApiParameter("stored", bool),
    OpenApiParameter("removed", bool, description="Removed files instead of present ones."),
    INCLUDE,
]
