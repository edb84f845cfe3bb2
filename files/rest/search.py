"""REST v0.7 `POST files/search/`: the project's files that match a search, a page at a time.

Paged by `limit` (1–100, default 20) and `offset`, within the first WINDOW results as Uploadcare's
search is: pyuploadcare 6.3 asks for pages up to `offset + limit = 1000` (its search_iterate
clamps the last one to end there), so that sum may reach WINDOW; @uploadcare/rest-client documents
it as under 1000, which this also accepts. `next`/`previous` carry only limit, offset and include:
rest-client's `paginate` lays a link's parameters over the caller's options.

`total` counts matches up to TOTAL_MAX (Elasticsearch's default for a hit count, which a search
service reports as "at least"): only the first WINDOW are reachable, and counting every match of a
common word among a million files would be most of the call's time.
"""

from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from files.info import rest_file_infos
from files.models import File
from files.rest.base import ProjectAPIView
from files.rest.common import json_body, wants_appdata
from files.rest.docs import errors
from files.rest.pagination import int_param
from files.rest.shapes import INCLUDE, SEARCH_BODY, SearchPageSerializer
from files.search import SearchInvalid, highlight, search_files, search_parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
WINDOW = 1000
TOTAL_MAX = 10_000


def page_link(request, limit: int, offset: int) -> str:
    params = {"limit": limit, "offset": offset}
    if wants_appdata(request):
        params["include"] = "appdata"
    return f"{request.build_absolute_uri(request.path)}?{urlencode(params)}"


class FileSearch(ProjectAPIView):
    # A search reads: a key with files:read may do it, though the body makes it a POST.
    read_methods = frozenset({"POST", "OPTIONS"})

    @extend_schema(
        summary="Search the project's files",
        request={"application/json": SEARCH_BODY},
        parameters=[
            OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}."),
            OpenApiParameter("offset", int, description=f"offset + limit at most {WINDOW}."),
            INCLUDE,
        ],
        responses={200: SearchPageSerializer, **errors(400)},
    )
    def post(self, request):
        limit = int_param(request.query_params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = int_param(request.query_params, "offset", 0, 0, WINDOW - 1)
        if offset + limit > WINDOW:
            raise ValidationError({"offset": [f"offset + limit must be at most {WINDOW}: narrow the search instead."]})
        try:
            search = search_parse(json_body(request))
        except SearchInvalid as exc:
            raise ValidationError(exc.errors) from None
        files = search_files(project=self.project, search=search)
        # Unordered and cut off: the database stops at TOTAL_MAX matches instead of ranking them all.
        total = files.order_by().values("pk")[:TOTAL_MAX].count()
        # The page's ids first, then its rows: the sort carries only the keys and ids, not whole rows.
        ids = list(files.values_list("pk", flat=True)[offset : offset + limit])
        rows = File.objects.filter(project=self.project).in_bulk(ids)
        page = [rows[pk] for pk in ids]
        infos = rest_file_infos(page, request, include_appdata=wants_appdata(request))
        for info, file in zip(infos, page, strict=True):
            if marked := highlight(search, file):
                info["highlight"] = marked
        end = offset + len(page)
        following = min(limit, WINDOW - end, total - end)
        return Response(
            {
                "next": page_link(request, following, end) if following > 0 else None,
                "previous": page_link(request, min(limit, offset), max(0, offset - limit)) if offset else None,
                "total": total,
                "per_page": limit,
                "results": infos,
            }
        )
