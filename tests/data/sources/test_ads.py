"""Ad spend importer: ad platform exports in, daily spend per campaign out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures/ads`` (synthetic files with the platforms' real headers);
the comments show the arithmetic.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, MappingError, ValidationError
from tests.data.importing import FIXTURES, changes, column, money, run_import

# tests/data/sources/test_ads.py -> parents[4] holds the repository and shared/
REAL = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "real_exports"

_ROWS = (
    "SELECT date, channel, campaign, spend, impressions, clicks, conversions "
    "FROM marketing_spend ORDER BY date, channel, campaign"
)


def _warnings(result: object) -> str:
    return "\n".join(w for f in result.files for w in f.warnings)  # type: ignore[attr-defined]


def _by(ws: Workspace, group: str) -> dict[object, tuple[object, ...]]:
    rows = ws.duck.execute(
        f"SELECT {group} AS g, sum(spend), sum(impressions), sum(clicks), sum(conversions), "
        f"count(*) FROM marketing_spend GROUP BY g ORDER BY g"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_ads_ad_sets_are_summed_per_campaign_and_day(workspace: Workspace) -> None:
    result = run_import(workspace, "ads", "ads/facebook_daily.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 3, 1), "facebook", "Brand", money("22.00"), 8000, 60, 1.0),
        # 85.40 + 40.10; 12000 + 3000; 240 + 90; 6 + 4
        (date(2024, 3, 1), "facebook", "Spring Sale", money("125.50"), 15000, 330, 10.0),
        (date(2024, 3, 2), "facebook", "Brand", money("20.00"), 7000, 55, 2.0),
        # 80.00 + 35.55 + 19.45
        (date(2024, 3, 2), "facebook", "Spring Sale", money("135.00"), 17500, 320, 8.0),
    ]
    # rows 2+3 and 5+6+7 share a campaign-day
    assert "5 rows summed into 2 campaign-days: the file splits campaigns by Ad set" in (
        _warnings(result)
    )


def test_ads_file_without_channel_column_needs_the_channel_option(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="--channel"):
        run_import(workspace, "ads", "ads/no_channel.csv")
    assert workspace.row_count("marketing_spend") == 0


def test_ads_google_layout_is_recognised_without_channel(workspace: Workspace) -> None:
    # Day, Campaign, Impr., Cost: Google Ads' own spellings
    run_import(workspace, "ads", "ads/google_ads_no_channel.csv")
    assert column(workspace, "SELECT DISTINCT channel FROM marketing_spend") == ["google_ads"]
    assert workspace.duck.execute("SELECT sum(spend) FROM marketing_spend").fetchone() == (
        money("1508.35"),  # 1045.20 + 54.80 + 210.00 + 198.35
    )


def test_ads_channel_option_fills_the_channel(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/google_ads_no_channel.csv", channel="google_ads")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        # "1,045.20" + 54.80; 12.5 + 3 conversions
        (date(2024, 3, 1), "google_ads", "Search - Brand", money("1100.00"), 2400, 180, 15.5),
        (date(2024, 3, 1), "google_ads", "Search - Generic", money("210.00"), 5000, 150, 4.0),
        (date(2024, 3, 2), "google_ads", "Search - Generic", money("198.35"), 5200, 140, 2.0),
    ]


def test_ads_meta_totals_row_first_is_skipped_and_checked(workspace: Workspace) -> None:
    result = run_import(workspace, "ads", "ads/meta_monthly_platforms.csv")
    notes = _warnings(result)
    assert "1 totals row(s) skipped (row 2:" in notes
    assert "equal the sum of the other rows" in notes
    assert "differs" not in notes
    # the totals row: 1271.2345 = 310.0001 + 400.5 + 261.0044 + 299.73
    total = workspace.duck.execute("SELECT sum(spend) FROM marketing_spend").fetchone()
    assert total == (money("1271.2345"),)


def test_ads_month_rows_are_spread_over_their_days(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/meta_monthly_platforms.csv")
    # one row per platform and day: January 31 days + February 29 days, two platforms
    assert workspace.row_count("marketing_spend") == 2 * (31 + 29)
    # per platform: facebook 310.0001 + 261.0044; 6200 + 4000; 100 + 90; 5 + 3
    assert _by(workspace, "channel") == {
        "facebook": (money("571.0045"), 10200, 190, 8.0, 60),
        "instagram": (money("700.2300"), 9830, 261, 9.0, 60),
    }
    # per month: exactly the rows of that month
    assert _by(workspace, "month(date)") == {
        1: (money("710.5001"), 11200, 250, 9.0, 62),
        2: (money("560.7344"), 8830, 201, 8.0, 58),
    }
    # each day gets an even share: parts differ by at most one unit of storage
    spread = workspace.duck.execute(
        "SELECT max(spend) - min(spend), max(impressions) - min(impressions), "
        "max(clicks) - min(clicks) FROM marketing_spend "
        "WHERE channel = 'facebook' AND month(date) = 1"
    ).fetchone()
    assert spread is not None
    assert spread[0] <= Decimal("0.01") and spread[1] <= 1 and spread[2] <= 1
    # 310.0001 / 31 = 10.0000...: one day carries the odd ten-thousandth (or cent)
    assert workspace.duck.execute(
        "SELECT count(*) FROM marketing_spend WHERE channel = 'facebook' AND month(date) = 1 "
        "AND clicks = 4"  # 100 clicks over 31 days: 7 days of 4, 24 days of 3
    ).fetchone() == (7,)


def test_ads_reimporting_spread_rows_changes_nothing(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/meta_monthly_platforms.csv")
    again = run_import(workspace, "ads", "ads/meta_monthly_platforms.csv")
    assert changes(again) == {"marketing_spend": (0, 0, 120, 0)}


def test_ads_totals_row_last_and_disagreeing_total(workspace: Workspace) -> None:
    result = run_import(workspace, "ads", "ads/meta_daily_totals_last.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 3, 1), "facebook", "Brand", money("10.25"), 500, 12, 1.0),
        (date(2024, 3, 1), "facebook", "Spring Sale", money("20.00"), 1000, 30, 2.0),
        # "-" in Results is an empty cell
        (date(2024, 3, 2), "facebook", "Spring Sale", money("25.50"), 1200, 35, None),
    ]
    notes = _warnings(result)
    assert "1 totals row(s) skipped (row 5:" in notes
    # the file's totals row says 80 link clicks; the rows hold 30 + 35 + 12 = 77
    assert "Link clicks 80 differs from their sum 77" in notes


def test_ads_week_ranges_are_spread_over_seven_days(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/weekly_ranges.csv")
    rows = workspace.duck.execute(_ROWS).fetchall()
    assert [r[0] for r in rows] == [date(2024, 3, 4) + timedelta(days=i) for i in range(14)]
    assert {r[1] for r in rows} == {"newsletter_ads"}
    week1 = rows[:7]
    # 70.03 over 7 days: 10.0042857…; 7005 impressions: 1000.71…; 71 clicks: 10.14…
    assert sum(r[3] for r in week1) == money("70.03")
    assert sum(r[4] for r in week1) == 7005
    assert sum(r[5] for r in week1) == 71
    assert sum(r[6] for r in week1) == 3
    # 0.5 conversions over a week, in ten-thousandths
    assert sum(r[6] for r in rows[7:]) == pytest.approx(0.5)


def test_ads_month_labels_cover_the_month_within_the_report(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/meta_month_labels.csv")
    # "October 2024" within Reporting starts 2024-10-15: 17 days; November: 30 days
    assert _by(workspace, "month(date)") == {
        10: (money("31.00"), 31, None, None, 17),
        11: (money("30.00"), 30, None, None, 30),
    }
    assert column(workspace, "SELECT min(date) FROM marketing_spend") == [date(2024, 10, 15)]


def test_ads_tiktok_export_with_dashes_and_percentages(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/tiktok_daily.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 8, 31), "tiktok", "", money("0"), 0, 0, 0.0),
        # Conversions "-": empty; clicks are Clicks (destination), not Clicks (all)
        (date(2024, 9, 1), "tiktok", "", money("80.25"), 20000, 229, None),
        (date(2024, 9, 2), "tiktok", "", money("120.50"), 30000, 300, 4.0),
    ]


def test_ads_google_report_with_title_rows_and_total_footers(workspace: Workspace) -> None:
    result = run_import(workspace, "ads", "ads/google_ads_campaign_report.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 3, 1), "google_ads", "Search - Brand", money("1045.20"), 1500, 120, 12.5),
        # "--" is an empty cell
        (date(2024, 3, 1), "google_ads", "Search - Generic", money("0.00"), 0, 0, None),
        (date(2024, 3, 2), "google_ads", "Search - Brand", money("54.80"), 900, 60, 3.0),
    ]
    notes = _warnings(result)
    assert "3 totals row(s) skipped (rows 7, 8, 9: 'Total: Account'" in notes
    assert result.files[0].rows_skipped == 3


def test_ads_google_summary_report_takes_its_period_from_the_title(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/google_ads_summary.csv")
    rows = workspace.duck.execute(_ROWS).fetchall()
    # "March 1, 2024 - March 7, 2024": 70.07 over 7 days = 10.01 a day
    assert [r[0] for r in rows] == [date(2024, 3, d) for d in range(1, 8)]
    assert {r[3] for r in rows} == {money("10.01")}
    assert sum(r[4] for r in rows) == 7000
    assert sum(r[5] for r in rows) == 71


def test_ads_microsoft_report_with_total_and_copyright_footer(workspace: Workspace) -> None:
    result = run_import(workspace, "ads", "ads/microsoft_ads.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 3, 1), "microsoft_ads", "Search - Brand", money("32.10"), 800, 40, 2.0),
        (date(2024, 3, 2), "microsoft_ads", "Search - Brand", money("29.90"), 750, 38, 1.0),
    ]
    notes = _warnings(result)
    assert "1 totals row(s) skipped" in notes
    assert "1 footer row(s) skipped (row 8: '©2024 Microsoft Corporation." in notes


def test_ads_linkedin_campaign_export(workspace: Workspace) -> None:
    run_import(workspace, "ads", "ads/linkedin_campaigns.csv")
    assert workspace.duck.execute(_ROWS).fetchall() == [
        (date(2024, 3, 1), "linkedin", "Decision makers", money("45.10"), 2000, 12, 1.0),
        (date(2024, 3, 1), "linkedin", "Founders", money("20.00"), 800, 5, 0.0),
        (date(2024, 3, 2), "linkedin", "Decision makers", money("44.90"), 1900, 11, 0.0),
    ]


def test_ads_true_duplicate_is_refused_naming_both_rows(workspace: Workspace) -> None:
    with pytest.raises(ValidationError, match=r"rows 2 and 4: .*2024-03-01, facebook, Spring Sale"):
        run_import(workspace, "ads", "ads/duplicate_rows.csv")
    assert workspace.row_count("marketing_spend") == 0


# -- the real exports (shared/datasets/real_exports, see its SOURCES.md) -------------------


def _real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real export {name} not found in {REAL}")
    return path


def _stored(ws: Workspace, amount: str) -> Decimal:
    """``amount`` rounded half up to the precision the workspace stores money at."""
    scale = ws.duck.execute(
        "SELECT max(numeric_scale) FROM information_schema.columns "
        "WHERE table_name = 'marketing_spend' AND column_name = 'spend'"
    ).fetchone()
    assert scale is not None
    return Decimal(amount).quantize(Decimal(1).scaleb(-int(scale[0])), rounding=ROUND_HALF_UP)


def test_ads_real_meta_export_imports_with_the_right_totals(workspace: Workspace) -> None:
    path = _real("ads_answersai_meta_ads.csv")
    run_import(workspace, "ads", path)
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    totals = frame[frame["Platform"].isna()]
    rows = frame[frame["Platform"].notna()].copy()
    rows["spend"] = [_stored(workspace, a) for a in rows["Amount spent (USD)"]]
    for c in ("Impressions", "Link clicks", "Purchases"):
        rows[c] = pd.to_numeric(rows[c]).fillna(0).astype(int)
    rows["month"] = rows["Month"].str.slice(5, 7).astype(int)
    for group, key in (("Platform", "channel"), ("month", "month(date)")):
        expected = {
            k: (sum(g["spend"]), int(g["Impressions"].sum()), int(g["Link clicks"].sum()))
            for k, g in rows.groupby(group)
        }
        stored = {k: (v[0], int(v[1] or 0), int(v[2] or 0)) for k, v in _by(workspace, key).items()}
        assert stored == expected
    grand = workspace.duck.execute("SELECT sum(spend) FROM marketing_spend").fetchone()
    assert grand is not None
    file_total = Decimal(totals["Amount spent (USD)"].iloc[0])
    assert grand[0].quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == file_total


def test_ads_real_tiktok_export_is_one_row_per_day(workspace: Workspace) -> None:
    path = _real("ads_answersai_tiktok.csv")
    run_import(workspace, "ads", path)
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    stored = workspace.duck.execute(
        "SELECT count(*), count(DISTINCT date), sum(spend), sum(impressions), sum(clicks) "
        "FROM marketing_spend WHERE channel = 'tiktok'"
    ).fetchone()
    assert stored == (
        len(frame),
        frame["Date"].nunique(),
        sum(Decimal(c) for c in frame["Cost"]),
        int(pd.to_numeric(frame["Impressions"]).sum()),
        int(pd.to_numeric(frame["Clicks (destination)"]).sum()),
    )
    assert workspace.row_count("marketing_spend") == len(frame)


def test_ads_spend_in_another_currency_is_converted_or_asks_for_rates(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD")
    try:
        export = tmp_path / "tiktok_eur.csv"
        export.write_text(
            (FIXTURES / "ads" / "tiktok_daily.csv")
            .read_text(encoding="utf-8-sig")
            .replace(",USD", ",EUR"),
            encoding="utf-8",
        )
        with pytest.raises(DataError) as info:
            run_import(ws, "ads", export)
        assert "amount in EUR" in str(info.value) and "fx_rates" in str(info.value)
        assert ws.row_count("marketing_spend") == 0
        rates = tmp_path / "rates.csv"
        rates.write_text("currency,date,rate\nEUR,2024-08-01,1.1\n", encoding="utf-8")
        run_import(ws, "csv", rates, table="fx_rates")
        run_import(ws, "ads", export)
        spend = dict(ws.duck.execute("SELECT date, spend FROM marketing_spend").fetchall())
        assert spend[date(2024, 9, 2)] == Decimal("132.55")  # 120.50 EUR × 1.1
        assert spend[date(2024, 9, 1)] == Decimal("88.275")  # 80.25 EUR × 1.1
    finally:
        ws.close()
