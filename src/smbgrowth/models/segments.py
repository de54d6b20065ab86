"""Customer segments: RFM scores with named segments, and behavioural clusters.

RFM scores rank customers on three measures of their sold orders up to an
``as_of`` day: recency (days since the last order), frequency (orders) and
monetary value (net spend). Each is scored 1–5 by quintile of the customers'
ranks (5 = most recent, most frequent, highest spend); ties share a score.

Named segments follow the widely used R×F grid (R and F scores 1–5), checked in
this order, first match wins:

============== =========================================== ====================================
segment        rule                                        meaning
============== =========================================== ====================================
champions      R ≥ 4 and F ≥ 4                             bought recently, buy often
loyal          R ≥ 3 and F ≥ 3                             buy regularly
new            R ≥ 4 and F = 1                             first order was recent
promising      R ≥ 3 and F ≤ 2                             recent, not yet regular
can't lose     R ≤ 2 and F ≥ 4                             were among the best, gone quiet
at risk        R ≤ 2 and F = 3                             were regular, gone quiet
hibernating    R = 2 and F ≤ 2                             few orders, a while ago
lost           R = 1 and F ≤ 2                             few orders, long ago
============== =========================================== ====================================

Behavioural clusters use k-means (scikit-learn) on the standardised logs of
recency, frequency and monetary value; k is the value in 2–8 with the highest
silhouette score (Rousseeuw 1987), fitted with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import ibis
import numpy as np
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.metrics.base import local_time
from smbgrowth.metrics.common import REVENUE_STATUSES

__all__ = [
    "RFM_SEGMENTS",
    "Clustering",
    "SegmentChanges",
    "Segmentation",
    "behavioural_clusters",
    "name_segment",
    "rfm_scores",
    "save_segments",
    "segment_customers",
    "segment_profiles",
    "top_categories",
]

#: Named segments in the order their rules are checked (see the module docstring).
RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "new",
    "promising",
    "can't lose",
    "at risk",
    "hibernating",
    "lost",
)


def name_segment(r: int, f: int) -> str:
    """The named segment of an R score and an F score (1–5), by the documented grid."""
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4 and f == 1:
        return "new"
    if r >= 3:
        return "promising"
    if f >= 4:
        return "can't lose"
    if f == 3:
        return "at risk"
    if r == 2:
        return "hibernating"
    return "lost"


def _quintile(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Scores 1–5 by quintile of the ranks; equal values share a score."""
    ranks = values.rank(method="min", ascending=higher_is_better, pct=True)
    scores = np.ceil(ranks.to_numpy(dtype=float) * 5).clip(1, 5).astype(int)
    return pd.Series(scores, index=values.index)


def rfm_scores(ws: Workspace, *, as_of: date | None = None) -> pd.DataFrame:
    """RFM measures, scores and named segment of every customer with a sold order.

    Returns a DataFrame indexed by customer_id with columns recency_days,
    frequency, monetary, r, f, m, rfm (e.g. "545") and segment. ``as_of``
    (default: the day of the last sold order, local time) ends the history.
    """
    o = ws.orders
    sold = o.filter(o.status.isin(REVENUE_STATUSES) & o.customer_id.notnull())
    day = local_time(sold.ordered_at, ws.time_zone).date()
    sold = sold.mutate(day=day, net=sold.total - sold.refunded.fill_null(0))
    if as_of is not None:
        sold = sold.filter(sold.day <= ibis.literal(as_of))
    per_customer = (
        sold.group_by("customer_id")
        .aggregate(last_day=sold.day.max(), frequency=sold.count(), monetary=sold.net.sum())
        .execute()
    )
    if per_customer.empty:
        raise ModelError("no customers with sold orders: import orders before segmenting")
    end = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(per_customer.last_day.max())
    frame = per_customer.set_index("customer_id").sort_index()
    frame["recency_days"] = (end - pd.to_datetime(frame.last_day)).dt.days.astype(int)
    frame["monetary"] = frame["monetary"].astype(float)
    frame["frequency"] = frame["frequency"].astype(int)
    frame["r"] = _quintile(frame.recency_days, higher_is_better=False)
    frame["f"] = _quintile(frame.frequency, higher_is_better=True)
    frame["m"] = _quintile(frame.monetary, higher_is_better=True)
    frame["rfm"] = frame.r.astype(str) + frame.f.astype(str) + frame.m.astype(str)
    frame["segment"] = [name_segment(r, f) for r, f in zip(frame.r, frame.f, strict=True)]
    columns = ["recency_days", "frequency", "monetary", "r", "f", "m", "rfm", "segment"]
    result: pd.DataFrame = frame[columns]
    return result


@dataclass(frozen=True)
class Clustering:
    """k-means clusters of customers: the labels, k and the silhouette of each k tried."""

    labels: pd.Series
    k: int
    silhouettes: dict[int, float]


def behavioural_clusters(
    rfm: pd.DataFrame, *, k_range: range = range(2, 9), seed: int = 0, sample: int = 20000
) -> Clustering:
    """Cluster customers on log recency, frequency and spend; k by the best silhouette.

    The silhouette is computed on a seeded sample of at most ``sample`` customers
    (it is quadratic in their number); the final k-means uses everyone.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    if len(rfm) < max(k_range) + 1:
        raise ModelError(
            f"{len(rfm)} customers are too few to cluster into up to {max(k_range)} groups"
        )
    features = np.column_stack(
        [
            np.log1p(rfm.recency_days.to_numpy(dtype=float)),
            np.log1p(rfm.frequency.to_numpy(dtype=float)),
            np.log1p(rfm.monetary.clip(lower=0).to_numpy(dtype=float)),
        ]
    )
    x = StandardScaler().fit_transform(features)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), size=min(sample, len(x)), replace=False)
    silhouettes: dict[int, float] = {}
    for k in k_range:
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x[pick])
        if len(set(labels)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(x[pick], labels))
    if not silhouettes:
        raise ModelError("the customers do not separate into clusters")
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    labels = KMeans(n_clusters=best, n_init=4, random_state=seed).fit_predict(x)
    # Number clusters by descending mean spend so labels are stable and readable.
    order = pd.Series(rfm.monetary.to_numpy()).groupby(labels).mean().sort_values(ascending=False)
    renumber = {old: new for new, old in enumerate(order.index, start=1)}
    named = pd.Series([f"cluster {renumber[v]}" for v in labels], index=rfm.index, name="cluster")
    return Clustering(named, best, silhouettes)


def segment_profiles(rfm: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Size, share of customers, revenue share and mean R/F/M of each segment."""
    frame = rfm.assign(segment=segments)
    total = float(frame.monetary.sum()) or 1.0
    grouped = frame.groupby("segment")
    profile = pd.DataFrame(
        {
            "customers": grouped.size(),
            "customer_share": grouped.size() / len(frame),
            "revenue_share": grouped.monetary.sum() / total,
            "mean_spend": grouped.monetary.mean(),
            "mean_orders": grouped.frequency.mean(),
            "mean_recency_days": grouped.recency_days.mean(),
        }
    )
    return profile.sort_values("revenue_share", ascending=False)


@dataclass(frozen=True)
class SegmentChanges:
    """What saving a segmentation changed: customers who entered a segment, and the rest."""

    method: str
    entered: int
    unchanged: int


def save_segments(
    ws: Workspace,
    segments: pd.Series,
    *,
    method: str,
    scores: pd.Series | None = None,
    at: datetime | None = None,
) -> SegmentChanges:
    """Write each customer's segment to ``customer_segments``, keeping when it was entered.

    A customer whose segment is unchanged keeps its ``since``; one that moved gets
    the new segment, its previous one and ``since = at`` — the record that
    automations read to act on "customer entered segment". All in one transaction.
    """
    if method not in ("rfm", "cluster"):
        raise ModelError(f"segment method must be rfm or cluster, not {method!r}")
    at = at or datetime.now(UTC)
    frame = pd.DataFrame(
        {
            "customer_id": segments.index.astype(str),
            "segment": segments.astype(str).to_numpy(),
            "score": (scores.reindex(segments.index).astype(str).to_numpy()
                      if scores is not None else None),
        }
    )  # fmt: skip
    con = ws.duck
    con.register("_new_segments", frame)
    try:
        with ws.transaction():
            entered = con.execute(
                """UPDATE customer_segments AS t
                   SET previous_segment = t.segment, segment = n.segment, since = ?,
                       score = n.score, source = 'segments', imported_at = ?
                   FROM _new_segments n
                   WHERE t.customer_id = n.customer_id AND t.method = ?
                     AND t.segment <> n.segment""",
                [at, at, method],
            ).fetchall()[0][0]
            con.execute(
                """UPDATE customer_segments AS t SET score = n.score
                   FROM _new_segments n
                   WHERE t.customer_id = n.customer_id AND t.method = ?
                     AND t.score IS DISTINCT FROM n.score""",
                [method],
            ).fetchall()
            inserted = con.execute(
                """INSERT INTO customer_segments
                   SELECT n.customer_id, ?, n.segment, NULL, ?, n.score, 'segments', ?
                   FROM _new_segments n
                   WHERE NOT EXISTS (SELECT 1 FROM customer_segments t
                                     WHERE t.customer_id = n.customer_id AND t.method = ?)""",
                [method, at, at, method],
            ).fetchall()[0][0]
    finally:
        con.unregister("_new_segments")
    moved = int(entered) + int(inserted)
    return SegmentChanges(method, moved, len(frame) - moved)


def top_categories(ws: Workspace, segments: pd.Series, n: int = 3) -> dict[str, list[str]]:
    """The ``n`` product categories with most net line revenue in each segment."""
    o, lines = ws.orders, ws.order_lines
    sold = o.filter(o.status.isin(REVENUE_STATUSES) & o.customer_id.notnull())
    joined = lines.join(sold.select("order_id", "customer_id"), "order_id")
    joined = joined.filter(joined.product_category.notnull())
    per = (
        joined.group_by(["customer_id", "product_category"])
        .aggregate(revenue=joined.line_total.sum())
        .execute()
    )
    if per.empty:
        return {}
    per["segment"] = per.customer_id.map(segments)
    per = per.dropna(subset=["segment"])
    per["revenue"] = per.revenue.astype(float)
    totals = per.groupby(["segment", "product_category"]).revenue.sum().reset_index()
    out: dict[str, list[str]] = {}
    for segment, group in totals.groupby("segment"):
        ranked = group.sort_values(["revenue", "product_category"], ascending=[False, True])
        out[str(segment)] = ranked.product_category.head(n).astype(str).tolist()
    return out


@dataclass(frozen=True)
class Segmentation:
    """Customers' segments by one method, the segment profiles and what saving changed."""

    method: str
    segments: pd.Series
    profiles: pd.DataFrame
    categories: dict[str, list[str]]
    k: int | None
    changes: SegmentChanges | None

    def to_dict(self) -> dict[str, object]:
        rows = []
        for name, row in self.profiles.iterrows():
            rows.append(
                {
                    "segment": str(name),
                    **{k: (int(v) if k == "customers" else float(v)) for k, v in row.items()},
                    "top_categories": self.categories.get(str(name), []),
                }
            )
        return {
            "method": self.method,
            "k": self.k,
            "customers": len(self.segments),
            "entered": self.changes.entered if self.changes else None,
            "segments": rows,
        }


def segment_customers(
    ws: Workspace,
    *,
    method: str = "rfm",
    as_of: date | None = None,
    save: bool = True,
    seed: int = 0,
) -> Segmentation:
    """Segment every customer with a sold order by RFM or clustering, profile, and save.

    Profiles include each segment's mean 12-month CLV and P(alive) (BG/NBD with
    Gamma-Gamma) when the history allows fitting them.
    """
    rfm = rfm_scores(ws, as_of=as_of)
    k: int | None = None
    if method == "rfm":
        segments = rfm.segment
    elif method == "cluster":
        clustering = behavioural_clusters(rfm, seed=seed)
        segments, k = clustering.labels, clustering.k
    else:
        raise ModelError(f"segment method must be rfm or cluster, not {method!r}")
    changes = save_segments(ws, segments, method=method, scores=rfm.rfm) if save else None
    profiles = segment_profiles(rfm, segments)
    try:
        from smbgrowth.models.clv.workflow import predict_customers

        value = predict_customers(ws).reindex(rfm.index)
        by_segment = value.assign(segment=segments).groupby("segment")
        profiles["mean_clv"] = by_segment.clv.mean()
        profiles["mean_p_alive"] = by_segment.p_alive.mean()
    except ModelError:
        # Too little history for the customer-value models: profile without CLV.
        pass
    return Segmentation(
        method=method,
        segments=segments,
        profiles=profiles,
        categories=top_categories(ws, segments),
        k=k,
        changes=changes,
    )
