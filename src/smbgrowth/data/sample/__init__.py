"""A reproducible sample business: an online coffee & tea retailer that grows.

:func:`generate_sample_business` fills an empty workspace with three years (by
default) of customers, orders, subscriptions, marketing spend, web funnel
events, a B2B pipeline with invoices, support tickets, expenses, products,
business processes and two A/B tests with a known lift, every table drawn
from explicit true parameters that are stored as the workspace's
``sample_truth``, so that metrics and models can be checked against the truth
they should recover.

The generative models:

* repeat purchases — BG/NBD (Fader, Hardie & Lee 2005);
* order values — Gamma-Gamma (Fader, Hardie & Lee 2005);
* subscription churn — shifted-beta-geometric (Fader & Hardie 2007);
* A/B tests — assignment conditional on the drawn outcome, so that the
  treatment's expected conversion is a set multiple of the control's.
"""

from smbgrowth.data.sample.generator import (
    DEFAULT_END,
    SOURCE,
    SampleSummary,
    generate_sample_business,
)
from smbgrowth.data.sample.params import SampleParameters

__all__ = ["DEFAULT_END", "SOURCE", "SampleParameters", "SampleSummary", "generate_sample_business"]
