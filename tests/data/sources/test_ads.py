"""Ad spend importer: ad platform exports in, daily spend per campaign out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from datetime import date

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError
from tests.data.importing import money, run_import


def test_ads_ad_sets_are_summed_per_campaign_and_day(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/facebook_daily.csv")
    assert workspace.duck.execute(
        "SELECT date, channel, campaign, spend, impressions, clicks, conversions "
        "FROM marketing_spend ORDER BY date, campaign"
    ).fetchall() == [
        (date(2024, 3, 1), "facebook", "Brand", money("22.00"), 8000, 60, 1.0),
        # 85.40 + 40.10; 12000 + 3000; 240 + 90; 6 + 4
        (date(2024, 3, 1), "facebook", "Spring Sale", money("125.50"), 15000, 330, 10.0),
        (date(2024, 3, 2), "facebook", "Brand", money("20.00"), 7000, 55, 2.0),
        # 80.00 + 35.55 + 19.45
        (date(2024, 3, 2), "facebook", "Spring Sale", money("135.00"), 17500, 320, 8.0),
    ]


def test_ads_file_without_channel_column_needs_the_channel_option(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="--channel"):
        run_import(workspace, "ads", "ads/google_ads_no_channel.csv")
    assert workspace.row_count("marketing_spend") == 0


def test_ads_channel_option_fills_the_channel(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/google_ads_no_channel.csv", channel="google_ads")
    assert workspace.duck.execute(
        "SELECT date, channel, campaign, spend, impressions, clicks, conversions "
        "FROM marketing_spend ORDER BY date, campaign"
    ).fetchall() == [
        # "1,045.20" + 54.80; 12.5 + 3 conversions
        (date(2024, 3, 1), "google_ads", "Search - Brand", money("1100.00"), 2400, 180, 15.5),
        (date(2024, 3, 1), "google_ads", "Search - Generic", money("210.00"), 5000, 150, 4.0),
        (date(2024, 3, 2), "google_ads", "Search - Generic", money("198.35"), 5200, 140, 2.0),
    ]
