from django.urls import path

from projects.views import collaborators, invitations, keys, projects

app_name = "projects"

project = "projects/<uuid:project_id>/"

urlpatterns = [
    path("", projects.home, name="home"),
    path("projects/", projects.project_list, name="list"),
    path("projects/new/", projects.project_create, name="create"),
    path(project, projects.overview, name="overview"),
    path(project + "settings/", projects.project_settings, name="settings"),
    path(project + "settings/rename/", projects.project_rename, name="rename"),
    path(project + "settings/uploads/", projects.project_uploads, name="uploads"),
    path(project + "delete/", projects.project_delete, name="delete"),
    path(project + "keys/", keys.key_list, name="keys"),
    path(project + "keys/new/", keys.key_create, name="key_create"),
    path(project + "keys/<uuid:key_id>/revoke/", keys.key_revoke, name="key_revoke"),
    path(project + "collaborators/", collaborators.collaborator_list, name="collaborators"),
    path(project + "collaborators/invite/", collaborators.invite, name="invite"),
    path(project + "collaborators/leave/", collaborators.leave, name="leave"),
    path(project + "collaborators/transfer/", collaborators.transfer, name="transfer"),
    path(project + "collaborators/<uuid:membership_id>/role/", collaborators.change_role, name="change_role"),
    path(project + "collaborators/<uuid:membership_id>/remove/", collaborators.remove, name="remove"),
    path(
        project + "invitations/<uuid:invitation_id>/cancel/",
        collaborators.invitation_cancel,
        name="invitation_cancel",
    ),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
]
