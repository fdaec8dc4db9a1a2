"""How the API writes moments: ISO 8601 in UTC with a `Z`."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from djstripe.utils import convert_tstamp

from centrali.formats import iso_utc, iso_utc_of_timestamp


def test_a_moment_in_another_zone_is_written_in_utc():
    moment = datetime(2026, 12, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))

    assert iso_utc(moment) == "2026-12-02T08:00:00Z"


@pytest.mark.parametrize("seconds", [0, 1_764_669_600, 1_764_669_600.25, 4_102_444_800])
def test_a_stripe_timestamp_is_written_as_djstripe_converts_it(seconds):
    assert iso_utc_of_timestamp(seconds) == iso_utc(convert_tstamp(seconds))
    assert iso_utc_of_timestamp(seconds) == iso_utc(datetime.fromtimestamp(seconds, UTC))


def test_no_timestamp_is_none():
    assert iso_utc_of_timestamp(None) is None
