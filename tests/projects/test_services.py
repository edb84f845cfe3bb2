import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from projects import services
from projects.models import Membership, Project, Role, SecretKey
from tests.factories import UserFactory, make_file


def test_project_create_makes_owner_public_key_and_one_secret(db):
    user = UserFactory()
    project = services.project_create(owner=user, name="  Photos  ")
    assert project.name == "Photos"
    assert len(project.public_key) == 20
    assert project.memberships.get().role == Role.OWNER
    assert project.secret_keys.active().count() == 1


def test_public_keys_are_unique(db):
    user = UserFactory()
    keys = {services.project_create(owner=user, name=f"p{i}").public_key for i in range(20)}
    assert len(keys) == 20


def test_secret_is_encrypted_at_rest(db):
    project = services.project_create(owner=UserFactory(), name="p")
    key, plain = services.secret_key_create(project=project, label="backend")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM projects_secretkey WHERE id = %s", [key.pk])
        stored = cursor.fetchone()[0]
    assert plain not in stored
    assert SecretKey.objects.get(pk=key.pk).secret == plain
    assert key.last4 == plain[-4:]
    assert key.masked.endswith(plain[-4:]) and plain[:-4] not in key.masked


def test_authenticate_with_public_key_and_secret(db):
    project = services.project_create(owner=UserFactory(), name="p")
    key, plain = services.secret_key_create(project=project, label="backend")
    assert services.secret_key_authenticate(public_key=project.public_key, secret=plain).project == project
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert services.secret_key_authenticate(public_key=project.public_key, secret=plain + "x") is None
    assert services.secret_key_authenticate(public_key="unknown", secret=plain) is None


def test_secret_of_another_project_does_not_authenticate(db):
    mine = services.project_create(owner=UserFactory(), name="mine")
    theirs = services.project_create(owner=UserFactory(), name="theirs")
    _, their_secret = services.secret_key_create(project=theirs, label="x")
    assert services.secret_key_authenticate(public_key=mine.public_key, secret=their_secret) is None


def test_revoked_key_fails_on_next_request(db):
    project = services.project_create(owner=UserFactory(), name="p")
    key, plain = services.secret_key_create(project=project, label="backend")
    services.secret_key_revoke(key=key)
    assert services.secret_key_authenticate(public_key=project.public_key, secret=plain) is None


def test_hmac_check_uses_the_same_lookup(db):
    project = services.project_create(owner=UserFactory(), name="p")
    key, plain = services.secret_key_create(project=project, label="signer")
    message = b"GET\n\n\nTue, 24 Nov 2026, 14:55:30 GMT\n/api/files/"
    signature = hmac.new(plain.encode(), message, hashlib.sha1).hexdigest()

    def check(secret):
        return hmac.compare_digest(hmac.new(secret.encode(), message, hashlib.sha1).hexdigest(), signature)

    assert services.secret_key_match(public_key=project.public_key, check=check) == key


def test_deleted_project_keys_do_not_authenticate(db):
    project = services.project_create(owner=UserFactory(), name="p")
    _, plain = services.secret_key_create(project=project, label="x")
    services.project_delete(project=project)
    assert services.secret_key_authenticate(public_key=project.public_key, secret=plain) is None


def test_invitation_accept_adds_member_with_invited_role(team, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            project=team.project, email="New@Example.com", role=Role.VIEWER, invited_by=team.owner
        )
    assert invitation.email == "new@example.com"
    assert len(mailoutbox) == 1 and invitation.token in mailoutbox[0].body
    assert mailoutbox[0].subject.endswith("You are invited to Acme") and mailoutbox[0].to == ["new@example.com"]
    assert 'owner@example.com invited you to collaborate on the Filedock project "Acme" as viewer' in mailoutbox[0].body
    newcomer = UserFactory(email="new@example.com")
    membership = services.invitation_accept(invitation=invitation, user=newcomer)
    assert membership.role == Role.VIEWER
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=invitation, user=newcomer)


def test_invitation_for_another_address_is_refused(team):
    invitation = services.invitation_create(
        project=team.project, email="a@example.com", role="member", invited_by=team.owner
    )
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=invitation, user=team.outsider)
    assert not team.project.memberships.filter(user=team.outsider).exists()


def test_inviting_an_existing_collaborator_is_refused(team):
    with pytest.raises(ValidationError) as refused:
        services.invitation_create(project=team.project, email=team.member.email, role="viewer", invited_by=team.owner)
    assert refused.value.message_dict == {"email": ["This person is already a collaborator on the project."]}


@pytest.mark.parametrize("role", [Role.OWNER, "superuser"])
def test_an_invitation_is_for_admin_member_or_viewer_only(team, role):
    with pytest.raises(ValidationError) as refused:
        services.invitation_create(project=team.project, email="new@example.com", role=role, invited_by=team.owner)
    assert refused.value.message_dict == {"role": ["Choose admin, member or viewer."]}
    assert not team.project.invitations.exists()


def test_an_invitation_is_audited_with_who_sent_it_outside_a_request(team):
    from accounts.models import AuditEvent

    services.invitation_create(project=team.project, email="new@example.com", role="member", invited_by=team.owner)
    event = AuditEvent.objects.get(action="collaborator.invited")
    assert (event.actor, event.actor_email, event.details) == (
        team.owner,
        team.owner.email,
        {"email": "new@example.com", "role": "member"},
    )


def test_reinviting_replaces_the_pending_invitation(team):
    services.invitation_create(project=team.project, email="a@example.com", role="member", invited_by=team.owner)
    services.invitation_create(project=team.project, email="a@example.com", role="admin", invited_by=team.owner)
    assert list(team.project.invitations.pending().values_list("role", flat=True)) == ["admin"]


def test_owner_cannot_be_removed_or_demoted(team):
    owner_membership = team.project.memberships.get(user=team.owner)
    with pytest.raises(ValidationError) as refused:
        services.membership_remove(membership=owner_membership)
    assert refused.value.messages == ["The owner cannot leave or be removed; transfer ownership first."]
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(membership=owner_membership, role=Role.VIEWER)
    assert refused.value.messages == ["The owner's role changes only by transferring ownership."]
    assert Membership.objects.get(pk=owner_membership.pk).role == Role.OWNER


@pytest.mark.parametrize("role", [Role.OWNER, "superuser"])
def test_a_collaborator_cannot_be_made_owner_or_an_unknown_role(team, role):
    member = team.project.memberships.get(user=team.member)
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(membership=member, role=role)
    assert refused.value.messages == ["Choose admin, member or viewer."]
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER


def test_ownership_transfer_keeps_exactly_one_owner(team):
    member = team.project.memberships.get(user=team.member)
    services.ownership_transfer(project=team.project, to=member)
    roles = dict(team.project.memberships.values_list("user__email", "role"))
    assert roles[team.member.email] == Role.OWNER
    assert roles[team.owner.email] == Role.ADMIN
    assert list(roles.values()).count(Role.OWNER) == 1


def test_project_delete_hides_then_purge_removes(team, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from files.models import File

    key = default_storage.save(f"{team.project.pk}/a.txt", ContentFile(b"hello"))
    File.objects.create(project=team.project, original_filename="a.txt", size=5, storage_key=key)
    services.project_delete(project=team.project)
    assert not Project.objects.for_user(team.owner).filter(pk=team.project.pk).exists()
    assert services.project_purge(project_id=team.project.pk) is True
    assert Project.objects.get(pk=team.project.pk).purged_at is not None  # kept: its usage still counts
    assert not File.objects.filter(storage_key=key).exists()
    assert not default_storage.exists(key)
    assert services.project_purge(project_id=team.project.pk) is False  # running again is harmless


def test_purge_refuses_a_live_project(team):
    assert services.project_purge(project_id=team.project.pk) is False
    assert Project.objects.filter(pk=team.project.pk).exists()


def test_purge_refuses_a_live_project_while_another_waits_for_its_purge(team):
    from files.models import File

    deleted = services.project_create(owner=team.owner, name="deleted")
    services.project_delete(project=deleted)
    kept = make_file(team.project, "kept.txt")
    assert services.project_purge(project_id=team.project.pk) is False
    assert File.objects.filter(pk=kept.pk).exists() and Project.objects.get(pk=team.project.pk).purged_at is None


def test_upload_settings_clear_the_size_limit_and_leave_unnamed_options_as_they_are(team):
    services.project_configure_uploads(
        project=team.project,
        autostore_enabled=True,
        require_signed_uploads=False,
        max_file_size=5_000_000,
        allowed_mime_types="",
        svg_validation=True,
        strip_exif="all",
    )
    services.project_configure_uploads(
        project=team.project,
        autostore_enabled=False,
        require_signed_uploads=True,
        max_file_size=None,
        allowed_mime_types="image/*",
    )

    project = Project.objects.get(pk=team.project.pk)
    assert project.max_file_size is None and not project.autostore_enabled and project.require_signed_uploads
    assert project.allowed_mime_types == "image/*" and project.svg_validation and project.strip_exif == "all"
