"""File search (REST `POST files/search/`, Uploadcare's shape): a request body read into a query of
the project's files, its order, and the highlight of what matched.

Full text (`query`, `phrase`) is a case-insensitive substring match, as Uploadcare's is
substring-aware: `photo` finds photo.jpg and holiday-photographer.png. `query` matches a file whose
name, MIME type or metadata (a key or a value) holds every one of its words (or whose UUID it is); on
PostgreSQL one trigram index (files 0014) on those three serves it. `fuzziness` also lets a word
match a similar word (pg_trgm's word similarity, the same index); elsewhere it changes nothing.
Tag filters read FileTag's (project, tag) index. Every result set is ordered to the end by uuid,
so offset pages neither skip nor repeat a file.
"""

import re
import uuid as uuid_lib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.db import connections
from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import IContains, In
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from files.models import File, FileTag
from files.tags import TagError, tags_normalize

MIN_TERM = 4
MAX_TERM = 255
MAX_VALUES = 100  # values in one `exact` field, tags in one tag filter
MAX_EXACT = 1024  # characters of one `exact` value (names are 255, metadata values 512)
MAX_SIZE = 2**63 - 1  # the size column's range
MAX_SORT = 4
SORT_FIELDS = {"score", "datetime_uploaded", "size", "original_filename"}
CONDITIONS = ("query", "phrase", "exact", "datetime_uploaded", "size", "is_image", "tags")
MODIFIERS = ("fuzziness", "sort")
PHRASE_FIELDS = ("original_filename", "detected_mime_type", "metadata")
EXACT_FIELDS = ("uuid", "detected_mime_type", "original_filename")
RANGE_BOUNDS = ("gt", "gte", "lt", "lte")
METADATA_KEY = re.compile(r"\Ametadata\[([\w\-.:]{1,64})\]\Z")


class SearchInvalid(Exception):
    """The request breaks the rules; `errors` are by field, as the REST API reports them."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Search:
    """A request, read and checked."""

    terms: list[str] = field(default_factory=list)  # query's words
    phrase: dict[str, str] = field(default_factory=dict)
    exact: dict[str, list[str]] = field(default_factory=dict)  # field -> values; metadata keys as metadata[key]
    uploaded: dict[str, datetime] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    is_image: bool | None = None
    tags: dict[str, list[str]] = field(default_factory=dict)
    fuzziness: bool = False
    sort: list[str] = field(default_factory=list)

    @property
    def full_text(self) -> bool:
        return bool(self.terms or self.phrase)


# --- reading a request ---


def search_parse(body) -> Search:
    """The body of `POST files/search/` as a Search; raises SearchInvalid with every field's errors."""
    if not isinstance(body, dict):
        raise SearchInvalid({"non_field_errors": ["The body must be a JSON object."]})
    errors: dict = {}
    search = Search()
    for name in body:
        if name not in CONDITIONS and name not in MODIFIERS:
            errors[name] = ["Unknown field."]
    if all(body.get(name) is None for name in CONDITIONS):
        errors.setdefault("non_field_errors", []).append(
            "At least one condition is required: " + ", ".join(CONDITIONS) + "."
        )
    for name, read in READERS.items():
        if body.get(name) is not None:
            try:
                read(search, body[name])
            except SearchInvalid as exc:
                errors[name] = exc.errors
    if isinstance(body.get("phrase"), dict) and isinstance(body.get("exact"), dict):
        for name in ("original_filename", "detected_mime_type"):
            if name in body["phrase"] and name in body["exact"]:
                errors.setdefault("non_field_errors", []).append(f"{name} cannot be in both phrase and exact.")
    if errors:
        raise SearchInvalid(errors)
    return search


def _invalid(message: str) -> SearchInvalid:
    return SearchInvalid([message])


def _text(value, *, minimum: int = MIN_TERM) -> str:
    if not isinstance(value, str):
        raise _invalid("Must be a string.")
    value = value.strip()
    if len(value) < minimum:
        raise _invalid(f"Must be at least {minimum} characters.")
    if len(value) > MAX_TERM:
        raise _invalid(f"Must be at most {MAX_TERM} characters.")
    if "\x00" in value:
        raise _invalid("Null characters are not allowed.")
    return value


def _object(value, allowed) -> dict:
    if not isinstance(value, dict):
        raise _invalid("Must be an object.")
    if not value:
        raise SearchInvalid({"non_field_errors": ["Give at least one of: " + ", ".join(allowed) + "."]})
    return value


def _read_query(search: Search, value) -> None:
    search.terms = _text(value).split()


def _read_phrase(search: Search, value) -> None:
    value = _object(value, PHRASE_FIELDS)
    errors = {}
    for name, text in value.items():
        if name not in PHRASE_FIELDS:
            errors[name] = ["Unknown field."]
            continue
        try:
            search.phrase[name] = _text(text)
        except SearchInvalid as exc:
            errors[name] = exc.errors
    if errors:
        raise SearchInvalid(errors)


def _read_exact(search: Search, value) -> None:
    value = _object(value, [*EXACT_FIELDS, "metadata[key]"])
    errors = {}
    for name, values in value.items():
        if name not in EXACT_FIELDS and not METADATA_KEY.match(name):
            errors[name] = ["Unknown field: uuid, detected_mime_type, original_filename or metadata[key]."]
        elif not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            errors[name] = ["Must be a non-empty list of strings."]
        elif any("\x00" in v or len(v) > MAX_EXACT for v in values):
            errors[name] = [f"Values are at most {MAX_EXACT} characters, without null characters."]
        elif len(values) > MAX_VALUES:
            errors[name] = [f"At most {MAX_VALUES} values."]
        elif name == "uuid":
            try:
                search.exact[name] = [str(uuid_lib.UUID(v)) for v in values]
            except ValueError:
                errors[name] = ["Every value must be a UUID."]
        else:
            search.exact[name] = values
    if errors:
        raise SearchInvalid(errors)


def _read_datetime(value) -> datetime:
    parsed = None
    if isinstance(value, str):
        text = value.strip().replace(" ", "+") if "T" in value else value.strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None and (day := parse_date(text)) is not None:
                parsed = datetime.combine(day, time.min)
            if parsed is not None:
                parsed = parsed.astimezone(UTC) if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            parsed = None
    if parsed is None:
        raise _invalid("Must be an ISO 8601 date or datetime, e.g. 2024-01-31T12:00:00Z.")
    return parsed


def _read_range(search: Search, value, target: dict, read) -> None:
    value = _object(value, RANGE_BOUNDS)
    errors = {}
    for bound, raw in value.items():
        if bound not in RANGE_BOUNDS:
            errors[bound] = ["Unknown bound: gt, gte, lt or lte."]
            continue
        try:
            target[bound] = read(raw)
        except SearchInvalid as exc:
            errors[bound] = exc.errors
    if errors:
        raise SearchInvalid(errors)


def _read_size(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SIZE:
        raise _invalid(f"Must be a whole number of bytes, 0 to {MAX_SIZE}.")
    return value


def _read_bool(value) -> bool:
    if not isinstance(value, bool):
        raise _invalid("Must be a boolean value.")
    return value


def _read_tags(search: Search, value) -> None:
    value = _object(value, ("any", "all", "none"))
    errors = {}
    for name, tags in value.items():
        if name not in ("any", "all", "none"):
            errors[name] = ["Unknown field: any, all or none."]
            continue
        try:
            search.tags[name] = tags_normalize(tags, max_count=MAX_VALUES)
        except TagError as exc:
            errors[name] = [str(exc)]
    if not errors and not any(search.tags.values()):
        errors["non_field_errors"] = ["Give at least one tag in any, all or none."]
    if errors:
        raise SearchInvalid(errors)


def _read_sort(search: Search, value) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SORT:
        raise _invalid(f"Must be a list of 1 to {MAX_SORT} keys.")
    seen = set()
    for key in value:
        name = key.removeprefix("-") if isinstance(key, str) else None
        if name not in SORT_FIELDS:
            raise _invalid("Unknown key: score, datetime_uploaded, size or original_filename, - for descending.")
        if name in seen:
            raise _invalid(f"{name} is given more than once.")
        seen.add(name)
    search.sort = list(value)


READERS = {
    "query": _read_query,
    "phrase": _read_phrase,
    "exact": _read_exact,
    "datetime_uploaded": lambda s, v: _read_range(s, v, s.uploaded, _read_datetime),
    "size": lambda s, v: _read_range(s, v, s.size, _read_size),
    "is_image": lambda s, v: setattr(s, "is_image", _read_bool(v)),
    "tags": _read_tags,
    "fuzziness": lambda s, v: setattr(s, "fuzziness", _read_bool(v)),
    "sort": _read_sort,
}


# --- the query ---


class SearchDocument(Func):
    """Name, MIME type and metadata as one text: the expression of the trigram index (files 0014),
    written the same way, so PostgreSQL answers a match on it from that index."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(F("original_filename"), F("mime_type"), Cast("metadata", TextField()))


class ILike(IContains):
    """`icontains` as ILIKE on PostgreSQL, which a trigram index serves (Django's own compares
    UPPER(...), which it cannot)."""

    # Elsewhere (SQLite, the embedded server) it is icontains itself: LIKE, which ignores ASCII case.
    lookup_name = "icontains"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


class WordSimilar(Lookup):
    """pg_trgm's `term <% text`: a word of the text is like the term (typo tolerance)."""

    lookup_name = "word_similar"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{rhs} <%% {lhs}", [*rhs_params, *lhs_params]


def _contains(expression, text: str) -> Q:
    return Q(ILike(expression, text))


def _term(term: str, *, postgres: bool, fuzzy: bool) -> Q:
    """One word of `query`: in the name, the MIME type or a metadata value, or the file's UUID."""
    document = SearchDocument()
    matched = _contains(document, term)
    if fuzzy and postgres:
        matched |= Q(WordSimilar(document, term))
    try:
        matched |= Q(uuid=uuid_lib.UUID(term))
    except ValueError:
        pass
    return matched


def search_files(*, project, search: Search) -> QuerySet:
    """The project's present files that match, ordered as asked (unordered ties by newest, then uuid)."""
    files = File.objects.filter(project=project, datetime_removed__isnull=True)
    postgres = connections[files.db].vendor == "postgresql"
    condition = Q()
    for term in search.terms:
        condition &= _term(term, postgres=postgres, fuzzy=search.fuzziness)
    for name, text in search.phrase.items():
        expression = {"original_filename": F("original_filename"), "detected_mime_type": F("mime_type")}.get(
            name, Cast("metadata", TextField())
        )
        matched = _contains(expression, text)
        if search.fuzziness and postgres:
            matched |= Q(WordSimilar(expression, text))
        condition &= matched
    for name, values in search.exact.items():
        if name == "uuid":
            condition &= Q(uuid__in=values)
        elif name == "detected_mime_type":
            condition &= Q(mime_type__in=values)
        elif name == "original_filename":
            condition &= Q(original_filename__in=values)
        else:
            # The key as one key: through the ORM's `metadata__<key>` a key such as "a__b" or
            # "contains" would read as a path or a lookup.
            key = METADATA_KEY.match(name).group(1)
            condition &= Q(In(KeyTextTransform(key, "metadata"), values))
    for bound, value in search.uploaded.items():
        condition &= Q(**{f"datetime_uploaded__{bound}": value})
    for bound, value in search.size.items():
        condition &= Q(**{f"size__{bound}": value})
    if search.is_image is not None:
        condition &= Q(image_info__isnull=not search.is_image)
    condition &= _tag_condition(project, search.tags)
    files = files.filter(condition)
    if search.full_text:
        files = files.annotate(score=_score(search))
    return files.order_by(*_ordering(search))


def _tagged(project, tags: list[str]):
    return FileTag.objects.filter(project=project, tag__in=tags, file_id=OuterRef("pk"))


def _tag_condition(project, tags: dict[str, list[str]]) -> Q:
    condition = Q()
    if tags.get("any"):
        condition &= Q(Exists(_tagged(project, tags["any"])))
    for tag in tags.get("all", []):
        condition &= Q(Exists(_tagged(project, [tag])))
    if tags.get("none"):
        condition &= ~Q(Exists(_tagged(project, tags["none"])))
    return condition


def _score(search: Search):
    """How well a file matched the full text: 3 for the name, 2 for a metadata value, 1 for the
    MIME type, for each word and phrase; ties go to the newest file."""
    parts = []
    texts = [*search.terms, *search.phrase.values()]
    for text in texts:
        parts.append(Case(When(_contains(F("original_filename"), text), then=Value(3)), default=Value(0)))
        parts.append(Case(When(_contains(Cast("metadata", TextField()), text), then=Value(2)), default=Value(0)))
        parts.append(Case(When(_contains(F("mime_type"), text), then=Value(1)), default=Value(0)))
    score = parts[0]
    for part in parts[1:]:
        score = score + part
    return Cast(score, IntegerField())


def _ordering(search: Search) -> list:
    keys = search.sort or (["-score"] if search.full_text else ["-datetime_uploaded"])
    order = []
    for key in keys:
        name = key.removeprefix("-")
        if name == "score" and not search.full_text:
            continue  # without full text every file scores the same
        column = {"score": "score", "datetime_uploaded": "datetime_uploaded", "size": "size"}.get(
            name, "original_filename"
        )
        order.append(F(column).desc() if key.startswith("-") else F(column).asc())
    names = {key.removeprefix("-") for key in keys}
    if "datetime_uploaded" not in names:
        order.append(F("datetime_uploaded").desc())
    order.append(F("uuid").desc())
    return order


# --- highlight ---


def highlight(search: Search, file: File) -> dict:
    """The fields that matched the full text, the matched parts wrapped in <em>: Uploadcare's
    highlight. Not escaped (its clients say so): the values are the customer's own text."""
    if not search.full_text:
        return {}
    result: dict = {}
    everywhere = search.terms
    fields = {
        "original_filename": (file.original_filename, everywhere + _phrase(search, "original_filename")),
        "detected_mime_type": (file.mime_type, everywhere + _phrase(search, "detected_mime_type")),
    }
    for name, (value, texts) in fields.items():
        marked = _mark(value, texts)
        if marked is not None:
            result[name] = [marked]
    metadata = {}
    for key, value in (file.metadata or {}).items():
        marked = _mark(str(value), everywhere + _phrase(search, "metadata"))
        if marked is not None:
            metadata[key] = marked
    if metadata:
        result["metadata"] = metadata
    return result


def _phrase(search: Search, name: str) -> list[str]:
    return [search.phrase[name]] if name in search.phrase else []


def _mark(value: str, texts: list[str]) -> str | None:
    if not texts or not value:
        return None
    pattern = re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)), re.IGNORECASE)
    marked, count = pattern.subn(lambda m: f"<em>{m.group(0)}</em>", value)
    return marked if count else None
