"""A group's CDN link, as its info gives it, is fetched: it must answer."""

from django.core.files.base import ContentFile

from files.info import rest_group_info, upload_group_info
from files.services import file_upload
from files.uploads.groups import group_create


def test_the_cdn_url_a_group_info_gives_answers_with_the_group(client, team):
    files = [
        file_upload(project=team.project, content=ContentFile(b"x", name=f"{n}.txt"), filename=f"{n}.txt", store=True)
        for n in "ab"
    ]
    group = group_create(project=team.project, refs=[str(file.uuid) for file in files])
    for info in (rest_group_info(group), upload_group_info(group)):
        response = client.get(info["cdn_url"])
        assert response.status_code == 200, info["cdn_url"]
        page = response.content.decode()
        assert all(str(file.uuid) in page for file in files)
