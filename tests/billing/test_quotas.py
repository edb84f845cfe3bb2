from datetime import timedelta

import pytest
from django.utils import timezone

from billing import metering, quotas
from billing.models import Plan, Subscription, UsageDay
from billing.periods import month_bounds, today
from billing.quotas import QuotaExceeded, check_upload
from files.models import File
from projects.models import Membership, Role
from projects.services import project_create, project_delete
from tests.factories import UserFactory, add_file


@pytest.fixture
def owner(plans):
    return UserFactory(email="payer@example.com")


@pytest.fixture
def project(owner):
    return project_create(owner=owner, name="Main")


def _refused(excinfo, quota, limit):
    exc = excinfo.value
    assert (exc.quota, exc.limit, exc.message) == (quota, limit, "Account has reached its limits.")
    assert exc.reason
    assert str(exc) == f"Account has reached its limits. {exc.reason}"


def test_the_account_is_the_projects_owner(team):
    assert quotas.account_for(team.project) == team.owner


def test_an_account_without_a_subscription_is_on_the_default_plan(owner, plans):
    assert quotas.plan_for(owner) == plans.free
    Subscription.objects.create(
        account=owner,
        plan=plans.pro,
        current_period_start=today().replace(day=1),
        current_period_end=month_bounds(today())[1],
    )
    owner.refresh_from_db()
    assert quotas.plan_for(owner) == plans.pro


def test_a_file_over_the_plans_maximum_size_is_refused(project):
    check_upload(project=project, size=500)
    with pytest.raises(QuotaExceeded) as excinfo:
        check_upload(project=project, size=501)
    _refused(excinfo, "max_file_size", 500)
    assert "500" in excinfo.value.reason


def test_an_upload_that_would_exceed_stored_bytes_is_refused(owner, project):
    other = project_create(owner=owner, name="Second")
    add_file(project, 400)
    add_file(other, 400)  # storage is summed over all of the owner's projects
    check_upload(project=project, size=200)
    with pytest.raises(QuotaExceeded) as excinfo:
        check_upload(project=project, size=201)
    _refused(excinfo, "stored_bytes", 1000)


def test_removed_files_do_not_count_against_storage(project):
    add_file(project, 900, removed=True)
    check_upload(project=project, size=500)


def test_an_upload_past_the_file_count_is_refused(project):
    for _ in range(4):
        add_file(project, 1)
    check_upload(project=project, size=1)
    add_file(project, 1)
    with pytest.raises(QuotaExceeded) as excinfo:
        check_upload(project=project, size=1)
    _refused(excinfo, "file_count", 5)


def test_uploads_past_the_monthly_quota_are_refused(project):
    metering.usage_add(project_id=project.pk, uploads=9)
    check_upload(project=project, size=1)
    metering.usage_add(project_id=project.pk, uploads=1)
    with pytest.raises(QuotaExceeded) as excinfo:
        check_upload(project=project, size=1)
    _refused(excinfo, "uploads", 10)


def test_last_months_uploads_do_not_count(project):
    last_month = month_bounds(today())[0] - timedelta(days=1)
    metering.usage_add(project_id=project.pk, uploads=50, day=last_month)
    check_upload(project=project, size=1)


def test_projects_the_owner_only_collaborates_on_do_not_count(owner, project):
    elsewhere = project_create(owner=UserFactory(), name="Theirs")
    Membership.objects.create(project=elsewhere, user=owner, role=Role.ADMIN)
    metering.usage_add(project_id=elsewhere.pk, uploads=100)
    add_file(elsewhere, 5000)
    check_upload(project=project, size=1)
    # ...and the other project is checked against its own owner's plan.
    with pytest.raises(QuotaExceeded):
        check_upload(project=elsewhere, size=1)


def test_files_uploaded_after_the_storage_sample_are_counted(project):
    metering.usage_sample(project_ids=[project.pk])
    add_file(project, 900)
    with pytest.raises(QuotaExceeded) as excinfo:
        check_upload(project=project, size=200)
    _refused(excinfo, "stored_bytes", 1000)


def test_files_deleted_since_the_sample_free_their_space_at_once(project):
    big = add_file(project, 900)
    metering.usage_sample(project_ids=[project.pk])
    File.objects.filter(pk=big.pk).update(datetime_removed=timezone.now())
    check_upload(project=project, size=500)  # the sample says 900 stored; the exact recount says 0


def test_the_storage_estimate_starts_from_the_sample(project):
    add_file(project, 100, uploaded=timezone.now() - timedelta(hours=2))
    metering.usage_sample(project_ids=[project.pk])
    UsageDay.objects.filter(project=project).update(stored_bytes=777, file_count=3)  # tells the sample apart
    assert quotas.stored_by_project([project.pk])[project.pk] == (777, 3)
    assert quotas.stored_by_project([project.pk], exact=True)[project.pk] == (100, 1)


def _call(project) -> None:
    """A REST call as files.rest.base counts it: the owner's quota, then the call within it."""
    quota = quotas.api_call_quota(project=project)
    if quota is not None:
        quotas.api_call_count(project_id=project.pk, quota=quota)


def _calls(project) -> int:
    return UsageDay.objects.filter(project=project).values_list("api_calls", flat=True).first() or 0


def test_an_unlimited_plan_allows_anything(owner, project, plans):
    Subscription.objects.create(
        account=owner,
        plan=plans.business,
        current_period_start=today().replace(day=1),
        current_period_end=month_bounds(today())[1],
    )
    metering.usage_add(project_id=project.pk, uploads=10_000, api_calls=10_000)
    check_upload(project=project, size=10**12)
    assert quotas.api_call_quota(project=project) is None  # its calls may wait in Redis


def test_with_no_plans_configured_nothing_is_limited(project):
    Plan.objects.all().delete()
    metering.usage_add(project_id=project.pk, uploads=10_000, api_calls=10_000)
    check_upload(project=project, size=10**12)
    assert quotas.api_call_quota(project=project) is None


def test_api_calls_past_the_monthly_quota_are_refused_and_not_counted(project):
    metering.usage_add(project_id=project.pk, api_calls=9)
    _call(project)
    assert _calls(project) == 10
    with pytest.raises(QuotaExceeded) as excinfo:
        _call(project)
    _refused(excinfo, "api_calls", 10)
    assert "10 API calls" in excinfo.value.reason
    assert _calls(project) == 10


def test_the_first_call_of_the_day_starts_its_row(project):
    assert not UsageDay.objects.filter(project=project).exists()
    _call(project)
    assert UsageDay.objects.get(project=project, day=today()).api_calls == 1


def test_api_calls_are_summed_over_the_owners_projects_deleted_ones_too(owner, project):
    other = project_create(owner=owner, name="Second")
    gone = project_create(owner=owner, name="Gone")
    metering.usage_add(project_id=project.pk, api_calls=4)
    metering.usage_add(project_id=gone.pk, api_calls=4)
    project_delete(project=gone)
    metering.usage_add(project_id=other.pk, api_calls=1)
    _call(other)
    with pytest.raises(QuotaExceeded):
        _call(other)
    assert _calls(other) == 2


def test_another_owners_calls_do_not_count(owner, project, plans):
    elsewhere = project_create(owner=UserFactory(), name="Elsewhere")
    Membership.objects.create(project=elsewhere, user=owner, role=Role.ADMIN)  # a member, not its owner
    metering.usage_add(project_id=elsewhere.pk, api_calls=10)
    _call(project)
    assert _calls(project) == 1


def test_checking_and_counting_an_api_call_is_cheap(project, django_assert_max_num_queries):
    metering.usage_add(project_id=project.pk, api_calls=1)
    # The owner with their subscription, the default plan (no subscription yet), then the check
    # and the count in one statement.
    with django_assert_max_num_queries(3):
        _call(project)
    assert _calls(project) == 2


def test_usage_levels_warn_at_80_percent():
    quota = quotas.QuotaUsage("api_calls", "API calls", 79, 100, monthly=True)
    assert quota.level == "ok"
    quota.used = 80
    assert quota.level == "warn"
    quota.used = 100
    assert (quota.level, quota.bar_percent) == ("over", 100)
    quota.used = 150
    assert (quota.percent, quota.bar_percent) == (150, 100)
    assert quotas.QuotaUsage("uploads", "Uploads", 5, None, monthly=True).level == "ok"
