"""The true parameters of the sample business.

Every random choice the generator makes is drawn from a distribution whose
parameters live here, so that the workspace can record them (``sample_truth``)
and models fitted to the sample data can be checked against them.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
   Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
   *Marketing Science* 24(2), 275–284.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV:
   Using Iso-Value Curves for Customer Base Analysis. *Journal of Marketing
   Research* 42(4), 415–430 (the Gamma-Gamma spend model, appendix and
   Fader & Hardie's note "The Gamma-Gamma Model of Monetary Value", 2013).
.. [3] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer
   Retention. *Journal of Interactive Marketing* 21(1), 76–90 (the
   shifted-beta-geometric model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Acquisition",
    "B2BPipeline",
    "Costs",
    "ExperimentDesign",
    "Marketing",
    "OrderPolicy",
    "OrderValue",
    "RepeatPurchase",
    "SampleParameters",
    "SubscriptionChurn",
    "Support",
    "WebFunnel",
]


@dataclass(frozen=True)
class Acquisition:
    """How many new customers arrive when, and through which channel.

    The daily intensity of first purchases is
    ``(floor + (1 - floor) / (1 + exp(-growth_rate_per_year * (t - midpoint)))``
    ``× monthly_seasonality[month] × weekday_weights[weekday]``, with ``t`` in
    years since the start and the midpoint at ``midpoint_share`` of the span:
    a logistic (S-shaped) ramp from start-up into growth. The ``customers``
    requested are spread over the days in proportion to it (one multinomial
    draw); the hour of a first order follows ``hour_weights_local`` in the
    home country's time. Channel shares move linearly from ``channel_share_start`` to
    ``channel_share_end`` over the span.
    """

    curve: str = "logistic"
    growth_rate_per_year: float = 2.2
    midpoint_share: float = 0.6
    floor: float = 0.08
    monthly_seasonality: tuple[float, ...] = (
        0.90,
        0.82,
        0.92,
        0.95,
        0.92,
        0.72,
        0.64,
        0.70,
        0.95,
        1.10,
        1.48,
        1.90,
    )
    weekday_weights: tuple[float, ...] = (1.06, 1.04, 1.00, 0.98, 0.94, 0.92, 1.06)
    hour_weights_local: tuple[float, ...] = (
        1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 2.0, 2.3, 2.4, 2.4,
        2.5, 2.4, 2.3, 2.3, 2.4, 2.6, 2.9, 3.2, 3.3, 3.0, 2.4, 1.6,
    )  # fmt: skip
    channel_share_start: dict[str, float] = field(
        default_factory=lambda: {
            "organic": 0.40,
            "referral": 0.22,
            "email": 0.08,
            "google_ads": 0.14,
            "facebook": 0.10,
            "instagram": 0.06,
        }
    )
    channel_share_end: dict[str, float] = field(
        default_factory=lambda: {
            "organic": 0.26,
            "referral": 0.12,
            "email": 0.10,
            "google_ads": 0.22,
            "facebook": 0.17,
            "instagram": 0.13,
        }
    )
    segment_shares: dict[str, float] = field(
        default_factory=lambda: {"consumer": 0.94, "business": 0.06}
    )
    home_country_share: float = 0.9
    accepts_marketing: float = 0.55
    accepts_marketing_email_channel: float = 0.95


@dataclass(frozen=True)
class RepeatPurchase:
    """BG/NBD repeat buying (Fader, Hardie & Lee 2005).

    Each web customer is born at the first purchase. While alive, repeat
    purchases follow a Poisson process with rate ``λ ~ Gamma(r, alpha)`` per
    week (shape ``r``, rate ``alpha``); after each repeat purchase the customer
    drops out for good with probability ``p ~ Beta(a, b)``. Repeat purchases
    carry no seasonality, so a fitted BG/NBD model can recover these values.
    """

    r: float = 0.85
    alpha: float = 8.5
    a: float = 1.4
    b: float = 4.2
    time_unit: str = "week"


@dataclass(frozen=True)
class OrderValue:
    """Gamma-Gamma spend per order (Fader, Hardie & Lee 2005).

    A customer's orders have subtotal ``z ~ Gamma(p, ν)`` (shape ``p``, rate
    ``ν``) with ``ν ~ Gamma(q, gamma)`` per customer; the mean order value of
    the population is ``p·gamma / (q - 1)`` in the reporting currency. The
    draw, rounded to cents, is the order's ``subtotal`` exactly.
    """

    p: float = 6.0
    q: float = 4.0
    gamma: float = 22.0
    monetary_value: str = "orders.subtotal"


@dataclass(frozen=True)
class SubscriptionChurn:
    """Shifted-beta-geometric churn of the coffee subscription (Fader & Hardie 2007).

    A share of web customers subscribes some days after their first order;
    each subscriber has a monthly churn probability ``θ ~ Beta(alpha, beta)``
    and renews at every calendar month boundary with probability ``1 - θ``.
    Renewals are billed through the subscription (its ``mrr``) and are not
    repeated as rows of ``orders``.
    """

    alpha: float = 0.8
    beta: float = 5.5
    period: str = "month"
    subscriber_share: float = 0.12
    start_delay_days_mean: float = 21.0
    plans: dict[str, float] = field(
        default_factory=lambda: {
            "Explorer 250g": 16.0,
            "Classic 500g": 27.0,
            "Espresso 1kg": 45.0,
            "Tea Club": 19.0,
        }
    )
    plan_weights: dict[str, float] = field(
        default_factory=lambda: {
            "Explorer 250g": 0.35,
            "Classic 500g": 0.35,
            "Espresso 1kg": 0.15,
            "Tea Club": 0.15,
        }
    )
    trial_share: float = 0.25
    trial_days: int = 14
    cancellation_reasons: dict[str, float] = field(
        default_factory=lambda: {
            "too_much_coffee": 0.30,
            "price": 0.25,
            "switched_brand": 0.20,
            "moving": 0.10,
            "other": 0.15,
        }
    )


@dataclass(frozen=True)
class Marketing:
    """Paid acquisition: what each paid channel really costs per new customer.

    Daily spend of a paid channel is ``cac × expected new customers of the
    channel that day × LogNormal(mean 1, sigma)``, split over its campaigns by
    ``campaign_weights`` (with noise). Impressions follow ``cpm``, clicks
    ``ctr``; platforms report ``platform_attribution ×`` the true conversions.
    """

    cac: dict[str, float] = field(
        default_factory=lambda: {"google_ads": 42.0, "facebook": 55.0, "instagram": 68.0}
    )
    campaign_weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "google_ads": {"search_brand": 0.25, "search_generic": 0.45, "shopping": 0.30},
            "facebook": {"prospecting": 0.70, "retargeting": 0.30},
            "instagram": {"reels": 0.55, "stories": 0.45},
        }
    )
    cpm: dict[str, float] = field(
        default_factory=lambda: {"google_ads": 18.0, "facebook": 9.0, "instagram": 7.5}
    )
    ctr: dict[str, float] = field(
        default_factory=lambda: {"google_ads": 0.045, "facebook": 0.012, "instagram": 0.009}
    )
    platform_attribution: dict[str, float] = field(
        default_factory=lambda: {"google_ads": 1.10, "facebook": 1.35, "instagram": 1.25}
    )
    daily_spend_noise_sigma: float = 0.25
    campaign_noise_sigma: float = 0.15


@dataclass(frozen=True)
class OrderPolicy:
    """Order mechanics: basket, discounts, shipping, tax, statuses and fulfilment."""

    marketplace_share: float = 0.05
    cancel_rate: float = 0.025
    refund_rate: float = 0.015
    partial_refund_rate: float = 0.025
    first_order_discount_share: float = 0.35
    first_order_discount_pct: int = 10
    repeat_discount_share: float = 0.12
    repeat_discount_pct: int = 15
    shipping_fee: float = 5.95
    free_shipping_threshold: float = 45.0
    international_shipping_fee: float = 14.95
    lines_probabilities: tuple[float, ...] = (0.45, 0.30, 0.15, 0.10)
    min_weighed_share: float = 0.25
    fulfilment_base_hours: float = 26.0
    fulfilment_load_slope: float = 1.5
    fulfilment_shape: float = 3.0


@dataclass(frozen=True)
class WebFunnel:
    """Sessions and their funnel steps.

    A session reaches each next step with the probability in ``continuation``;
    ``channel_intent`` multiplies the product_view→add_to_cart probability and
    ``device_checkout`` the checkout→purchase one. Every web order is the
    purchase of one session; the sessions that do not buy are as many as those
    conversion rates imply. Only a uniform random share of all sessions
    (``session_sample_rate`` in the truth) is written, so that the table stays
    at most ``max_events_per_order`` rows per order; rates computed from it are
    unbiased.
    """

    continuation: dict[str, float] = field(
        default_factory=lambda: {
            "product_view": 0.62,
            "add_to_cart": 0.16,
            "checkout": 0.55,
            "purchase": 0.62,
        }
    )
    channel_intent: dict[str, float] = field(
        default_factory=lambda: {
            "direct": 1.4,
            "organic": 1.0,
            "referral": 1.3,
            "email": 1.5,
            "google_ads": 1.0,
            "facebook": 0.7,
            "instagram": 0.6,
        }
    )
    device_share: dict[str, float] = field(
        default_factory=lambda: {"desktop": 0.38, "mobile": 0.55, "tablet": 0.07}
    )
    device_checkout: dict[str, float] = field(
        default_factory=lambda: {"desktop": 1.2, "mobile": 0.8, "tablet": 1.0}
    )
    repeat_order_channels: dict[str, float] = field(
        default_factory=lambda: {
            "direct": 0.35,
            "email": 0.30,
            "organic": 0.20,
            "google_ads": 0.08,
            "facebook": 0.04,
            "instagram": 0.03,
        }
    )
    step_gap_seconds_mean: float = 75.0
    max_events_per_order: float = 2.5


@dataclass(frozen=True)
class Support:
    """Support tickets and how their delays grow with load.

    Tickets arise per order at ``ticket_rate_per_order`` by category. The
    support team has a fixed monthly capacity (the truth records it: the
    busiest month's tickets ÷ ``peak_utilisation``). With utilisation
    ``ρ = tickets that month ÷ capacity``, the mean first-response and
    resolution delays are ``base / (1 - min(ρ, max_utilisation))`` (an
    M/M/1-like queue), each drawn from a Gamma with shape ``delay_shape``.
    CSAT is ``round(csat_intercept - csat_slope_per_log_day · ln(1 + days to
    resolve) + Normal(0, csat_noise))`` clipped to 1–5, answered by
    ``csat_response_rate`` of the resolved tickets.
    """

    ticket_rate_per_order: dict[str, float] = field(
        default_factory=lambda: {
            "shipping": 0.030,
            "product": 0.012,
            "returns": 0.010,
            "billing": 0.006,
            "account": 0.004,
        }
    )
    channels: dict[str, float] = field(
        default_factory=lambda: {"email": 0.6, "chat": 0.3, "phone": 0.1}
    )
    open_delay_days_mean: float = 3.0
    first_response_base_hours: float = 4.0
    resolution_base_hours: float = 20.0
    peak_utilisation: float = 0.9
    max_utilisation: float = 0.93
    delay_shape: float = 1.5
    csat_response_rate: float = 0.45
    csat_intercept: float = 4.6
    csat_slope_per_log_day: float = 0.55
    csat_noise: float = 0.6


@dataclass(frozen=True)
class B2BPipeline:
    """Wholesale and office accounts won through a sales pipeline.

    Each account has one deal that moves lead → qualified → proposal → won,
    passing each step with ``stage_probabilities`` (else lost) after an
    exponential wait of ``days_per_stage_mean``. Won accounts are invoiced on
    the first of every month (net ``payment_terms_days``) until they churn
    (``monthly_churn``); invoices are paid on time, late (after the due date,
    exponential delay) or not at all, in the ``payment_behaviour`` shares.
    """

    account_share: float = 0.01
    min_accounts: int = 12
    segment_shares: dict[str, float] = field(
        default_factory=lambda: {"wholesale": 0.6, "business": 0.4}
    )
    stage_probabilities: dict[str, float] = field(
        default_factory=lambda: {"qualified": 0.55, "proposal": 0.65, "won": 0.55}
    )
    days_per_stage_mean: float = 12.0
    monthly_value_median: dict[str, float] = field(
        default_factory=lambda: {"wholesale": 650.0, "business": 320.0}
    )
    monthly_value_sigma: float = 0.5
    invoice_variation_sigma: float = 0.15
    monthly_churn: float = 0.025
    payment_terms_days: int = 30
    payment_behaviour: dict[str, float] = field(
        default_factory=lambda: {"on_time": 0.62, "late": 0.33, "unpaid": 0.05}
    )
    late_days_mean: float = 14.0
    partial_share_of_unpaid: float = 0.3
    cogs_share: float = 0.45
    owners: tuple[str, ...] = ("Maya Patel", "Jonas Berg", "Lena Ortiz")


@dataclass(frozen=True)
class Costs:
    """Monthly costs: rent, payroll, software, payment fees, shipping, COGS and marketing.

    Headcount is ``founders + ceil(orders that month / orders_per_employee_month)``;
    rent steps up at the headcounts in ``rent_steps``. COGS bills are the
    month's units sold at unit cost per vendor (plus ``B2BPipeline.cogs_share``
    of B2B invoices) with net ``cogs_terms_days`` terms. Marketing expenses are
    the monthly totals of ``marketing_spend`` per paid channel.
    """

    founders: int = 2
    orders_per_employee_month: float = 900.0
    salary_per_head: float = 4300.0
    rent_steps: tuple[tuple[int, float], ...] = ((0, 2400.0), (9, 5200.0), (25, 11000.0))
    software: dict[str, float] = field(
        default_factory=lambda: {
            "Shopify": 79.0,
            "Google Workspace": 36.0,
            "QuickBooks": 60.0,
            "Klaviyo": 45.0,
            "Zendesk": 55.0,
        }
    )
    payment_fee_rate: float = 0.029
    payment_fee_fixed: float = 0.30
    shipping_label_domestic: float = 6.80
    shipping_label_international: float = 19.00
    cogs_terms_days: int = 30
    marketing_in_expenses: bool = True
    marketing_vendors: dict[str, str] = field(
        default_factory=lambda: {
            "google_ads": "Google Ads",
            "facebook": "Meta Ads",
            "instagram": "Meta Ads",
        }
    )


@dataclass(frozen=True)
class ExperimentDesign:
    """The two A/B tests of the sample business, drawn after every other table.

    ``checkout-redesign`` randomises web sessions: every session whose first
    event falls in the last ``checkout_window_days`` days is a unit, and the
    second variant converts visit → purchase ``checkout_relative_lift`` more,
    relatively, than the first (control). ``winback-email`` randomises lapsed
    customers on the day ``winback_days_before_end`` days before the last day:
    those whose last order before that day was ``winback_lapsed_days`` (both
    included) days earlier. The e-mail changes nothing
    (``winback_relative_lift`` is 0): the customers' later orders are the ones
    already drawn. Both tests split the units 50/50 in expectation.
    """

    checkout_id: str = "checkout-redesign"
    checkout_variants: tuple[str, str] = ("control", "new-checkout")
    checkout_window_days: int = 42
    checkout_relative_lift: float = 0.12
    winback_id: str = "winback-email"
    winback_variants: tuple[str, str] = ("control", "email")
    winback_days_before_end: int = 60
    winback_lapsed_days: tuple[int, int] = (90, 365)
    winback_outcome_days: int = 30
    winback_relative_lift: float = 0.0


@dataclass(frozen=True)
class SampleParameters:
    """All true parameters of the sample business."""

    acquisition: Acquisition = field(default_factory=Acquisition)
    repeat_purchase: RepeatPurchase = field(default_factory=RepeatPurchase)
    order_value: OrderValue = field(default_factory=OrderValue)
    subscription_churn: SubscriptionChurn = field(default_factory=SubscriptionChurn)
    marketing: Marketing = field(default_factory=Marketing)
    orders: OrderPolicy = field(default_factory=OrderPolicy)
    web: WebFunnel = field(default_factory=WebFunnel)
    support: Support = field(default_factory=Support)
    b2b: B2BPipeline = field(default_factory=B2BPipeline)
    costs: Costs = field(default_factory=Costs)
    experiments: ExperimentDesign = field(default_factory=ExperimentDesign)
