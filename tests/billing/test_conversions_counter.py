"""Conversions are counted per project and day (billing.metering) and charted on the billing page."""

import pytest
from django.urls import reverse

from billing import metering
from billing.models import UsageDay
from projects.services import project_create
from tests.factories import UserFactory


@pytest.fixture
def owner(plans):
    return UserFactory(email="owner@example.com")


def test_conversions_add_up_in_the_days_row_and_show_as_a_chart(login, owner):
    project = project_create(owner=owner, name="Docs")
    metering.usage_add(project_id=project.pk, conversions=2)
    metering.usage_add(project_id=project.pk, conversions=1, uploads=1)
    row = UsageDay.objects.get(project=project)
    assert (row.conversions, row.uploads) == (3, 1)

    html = login(owner).get(reverse("billing:overview")).content.decode()
    chart = html[html.index('data-chart="conversions"') :]
    assert "Conversions" in chart[:200] and "3 this month" in chart[:300]
