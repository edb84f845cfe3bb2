from django.urls import path

from projects.views import apilogs, audit, collaborators, delivery, integrate, invitations, keys, oauth_apps, projects
from projects.webhooks import views as webhooks

app_name = "projects"

project = "projects/<uuid:project_id>/"

urlpatterns = [
    path("", projects.home, name="home"),
    path("projects/", projects.project_list, name="list"),
    path("projects/new/", projects.project_create, name="create"),
    path(project, projects.overview, name="overview"),
    path(project + "integrate/", integrate.integrate, name="integrate"),
    path(project + "settings/", projects.project_settings, name="settings"),
    path(project + "settings/rename/", projects.project_rename, name="rename"),
    path(project + "settings/uploads/", projects.project_uploads, name="uploads"),
    path(project + "settings/safety/", projects.project_safety, name="safety"),
    path(project + "delete/", projects.project_delete, name="delete"),
    path(project + "delivery/", delivery.delivery, name="delivery"),
    path(project + "delivery/save/", delivery.delivery_save, name="delivery_save"),
    path(project + "delivery/secrets/new/", delivery.secret_create, name="delivery_secret_create"),
    path(project + "delivery/secrets/<uuid:secret_id>/remove/", delivery.secret_remove, name="delivery_secret_remove"),
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
    path(project + "webhooks/", webhooks.webhook_list, name="webhooks"),
    path(project + "webhooks/new/", webhooks.webhook_create, name="webhook_create"),
    path(project + "webhooks/<int:webhook_id>/", webhooks.webhook_detail, name="webhook_detail"),
    path(project + "webhooks/<int:webhook_id>/edit/", webhooks.webhook_update, name="webhook_update"),
    path(project + "webhooks/<int:webhook_id>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path(
        project + "webhooks/<int:webhook_id>/rotate-secret/",
        webhooks.webhook_rotate_secret,
        name="webhook_rotate_secret",
    ),
    path(project + "webhooks/<int:webhook_id>/enable/", webhooks.webhook_enable, name="webhook_enable"),
    path(project + "webhooks/<int:webhook_id>/disable/", webhooks.webhook_disable, name="webhook_disable"),
    path(project + "webhooks/<int:webhook_id>/test/", webhooks.webhook_send_test, name="webhook_send_test"),
    path(
        project + "webhooks/<int:webhook_id>/deliveries/<uuid:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path(project + "sources/", oauth_apps.oauth_app_list, name="oauth_apps"),
    path(project + "sources/<slug:provider>/", oauth_apps.oauth_app_edit, name="oauth_app_edit"),
    path(project + "sources/<slug:provider>/save/", oauth_apps.oauth_app_save, name="oauth_app_save"),
    path(project + "sources/<slug:provider>/remove/", oauth_apps.oauth_app_delete, name="oauth_app_delete"),
    path(project + "audit/", audit.audit_log, name="audit"),
    path(project + "audit/export/csv/", audit.audit_export, {"fmt": "csv"}, name="audit_export_csv"),
    path(project + "audit/export/jsonl/", audit.audit_export, {"fmt": "jsonl"}, name="audit_export_jsonl"),
    path(project + "logs/", apilogs.api_logs, name="api_logs"),
    path(project + "logs/export/csv/", apilogs.api_logs_export, {"fmt": "csv"}, name="api_logs_export_csv"),
    path(project + "logs/export/jsonl/", apilogs.api_logs_export, {"fmt": "jsonl"}, name="api_logs_export_jsonl"),
    path(project + "logs/<uuid:line_id>/", apilogs.api_log_detail, name="api_log_detail"),
]
