"""The REST API's project, files and groups endpoints; config.api_urls mounts them with the webhooks'."""

from django.urls import path

from files.rest import addons, batch, conversions, docs, files, groups, metadata, project, remote_copy, search, tags

urlpatterns = [
    path("project/", project.ProjectInfo.as_view(), name="project"),
    # files/storage/, local_copy/, remote_copy/ and search/ before files/<id>/, which would match them too.
    path("files/", files.FileList.as_view(), name="files"),
    path("files/storage/", batch.BatchStorage.as_view(), name="files_storage"),
    path("files/local_copy/", files.LocalCopy.as_view(), name="files_local_copy"),
    path("files/remote_copy/", remote_copy.RemoteCopy.as_view(), name="files_remote_copy"),
    path("files/search/", search.FileSearch.as_view(), name="files_search"),
    path("files/<str:file_id>/", files.FileDetail.as_view(), name="file"),
    path("files/<str:file_id>/storage/", files.FileStorage.as_view(), name="file_storage"),
    path("files/<str:file_id>/metadata/", metadata.MetadataList.as_view(), name="file_metadata"),
    path("files/<str:file_id>/tags/", tags.FileTags.as_view(), name="file_tags"),
    path("files/<str:file_id>/metadata/<str:key>/", metadata.MetadataKey.as_view(), name="file_metadata_key"),
    path("groups/", groups.GroupList.as_view(), name="groups"),
    path("groups/<str:group_id>/", groups.GroupDetail.as_view(), name="group"),
    path("addons/<str:addon>/execute/", addons.AddonExecute.as_view(), name="addon_execute"),
    path("addons/<str:addon>/execute/status/", addons.AddonStatus.as_view(), name="addon_status"),
    # convert/document/status/ before convert/document/<id>/, which would match it too.
    path("convert/document/", conversions.DocumentConvert.as_view(), name="convert_document"),
    path(
        "convert/document/status/<int:token>/",
        conversions.DocumentConvertStatus.as_view(),
        name="convert_document_status",
    ),
    path("convert/document/<str:file_id>/", conversions.DocumentInfo.as_view(), name="convert_document_info"),
    path("convert/video/", conversions.VideoConvert.as_view(), name="convert_video"),
    path("convert/video/status/<int:token>/", conversions.VideoConvertStatus.as_view(), name="convert_video_status"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(), name="docs"),
]
