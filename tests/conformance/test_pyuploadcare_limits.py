"""pyuploadcare, unmodified, meeting the account's plan limits."""

import pytest
from pyuploadcare.exceptions import AuthenticationError

from billing.models import Plan
from tests.factories import make_plan


@pytest.mark.conformance("upload over the plan's limits")
def test_pyuploadcare_raises_its_limits_error(live_project, make_client, tmp_path):
    project, secret = live_project
    Plan.objects.update(is_default=False)
    make_plan("tiny", is_default=True, max_file_size=5)
    path = tmp_path / "big.txt"
    path.write_bytes(b"more than five bytes")
    with open(path, "rb") as f, pytest.raises(AuthenticationError, match="Account has reached its limits"):
        make_client(project.public_key, secret).upload(f)
