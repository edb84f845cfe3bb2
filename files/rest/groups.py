"""REST v0.7 groups: the list, one group's info, and deleting a group (its files stay)."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from files.info import group_common, rest_file_info, rest_group_info
from files.models import File, Group
from files.rest.base import ProjectAPIView
from files.rest.docs import errors
from files.rest.pagination import Cursor, keyset_page
from files.rest.shapes import GroupInfoSerializer, GroupPageSerializer, page_parameters
from files.uploads.groups import GROUP_ID, group_delete, group_lookup


def parse_group_id(value: str) -> str:
    if not GROUP_ID.match(value):
        raise ValueError(value)
    return value


def group_infos(groups: list[Group], project, request) -> list[dict]:
    """rest_group_info for a page of groups, with all their files read in one query."""
    wanted = {item["uuid"] for group in groups for item in group.items}
    files = {str(f.uuid): f for f in File.objects.filter(project=project, uuid__in=wanted)}

    def entry(item):
        file = files.get(item["uuid"])
        return {**rest_file_info(file, request), "default_effects": item["effects"]} if file else None

    return [{**group_common(group, request), "files": [entry(item) for item in group.items]} for group in groups]


class GroupList(ProjectAPIView):
    @extend_schema(
        operation_id="groups_list",
        summary="A page of the project's groups",
        parameters=page_parameters("datetime_created"),
        responses={200: GroupPageSerializer, **errors(400)},
    )
    def get(self, request):
        cursor = Cursor.from_request(request, key="datetime_created", parse_pk=parse_group_id)
        groups = Group.objects.filter(project=self.project)
        page = keyset_page(request, groups, cursor)
        return Response(
            {
                "next": page.next,
                "previous": page.previous,
                "total": groups.count(),
                "per_page": cursor.limit,
                "results": group_infos(page.rows, self.project, request),
            }
        )


class GroupDetail(ProjectAPIView):
    def group(self, group_id: str) -> Group:
        group = group_lookup(project=self.project, group_id=group_id)
        if group is None:
            raise NotFound()
        return group

    @extend_schema(summary="One group", responses={200: GroupInfoSerializer, **errors(404)})
    def get(self, request, group_id):
        return Response(rest_group_info(self.group(group_id), request))

    @extend_schema(summary="Delete a group (its files stay)", responses={204: None, **errors(404)})
    def delete(self, request, group_id):
        group_delete(group=self.group(group_id))
        return Response(status=204)
