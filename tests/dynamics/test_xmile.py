"""XMILE export: well-formed documents, exact equation translation, PySD round trip."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from smbgrowth.dynamics import (
    XMILE_NAMESPACE,
    Auxiliary,
    Constant,
    Flow,
    Lookup,
    Model,
    Stock,
    bass_diffusion,
    export_xmile,
    market_growth,
    simulate,
    xmile_equation,
)
from smbgrowth.errors import SimulationError

NS = {"x": XMILE_NAMESPACE}

CASES = [
    pytest.param(bass_diffusion, 24.0, 1 / 64, id="bass"),
    pytest.param(lambda: market_growth("F"), 100.0, 0.5, id="market_growth_F"),
]


def _tiny_model() -> Model:
    return Model(
        name="tiny",
        stocks=[Stock("level", 1.0, non_negative=False)],
        flows=[Flow("change", None, "level", "rate_of_change")],
        auxiliaries=[
            Auxiliary("power", "a ** 2 + -a ** 2 + (-a) ** 2 + a ** b ** 2"),
            Auxiliary("equal", "if_then_else(a == b, 1, 0) + (a != b)"),
            Auxiliary("chain", "a < b <= 3"),
            Auxiliary("picks", "min(a, b) + max(a, b, 3) + abs(a - b) + exp(a) + log(b)"),
            Auxiliary("clock", "time / 2"),
            Auxiliary("grouping", "a - (b - 1) - (a + b) * (a / b) / (a * b)"),
            Auxiliary("table_value", "table(a * 2)"),
            Auxiliary(
                "rate_of_change",
                "level * if_then_else(time > 5, a / b, if_then_else(b >= a, 0.5, -1e-05))",
            ),
        ],
        constants=[Constant("a", 2.0), Constant("b", 3.0)],
        lookups=[Lookup("table", [0.0, 1.0, 5.0], [0.0, 2.0, 3.0])],
    )


def test_each_construct_translates_as_expected() -> None:
    root = ET.fromstring(export_xmile(_tiny_model(), None, t_end=10, dt=0.25))
    eqns = {
        v.get("name"): v.findtext("x:eqn", namespaces=NS)
        for v in root.iterfind("x:model/x:variables/*", NS)
    }
    assert eqns["power"] == "a ^ 2 + (-(a ^ 2)) + (-a) ^ 2 + a ^ (b ^ 2)"
    assert eqns["equal"] == "(IF a = b THEN 1 ELSE 0) + (a <> b)"
    assert eqns["chain"] == "(a < b) AND (b <= 3)"
    assert eqns["picks"] == "MIN(a, b) + MAX(a, MAX(b, 3)) + ABS(a - b) + EXP(a) + LN(b)"
    assert eqns["clock"] == "TIME / 2"
    assert eqns["grouping"] == "a - (b - 1) - (a + b) * (a / b) / (a * b)"
    assert eqns["table_value"] == "a * 2"  # the table is embedded, as Stella writes it
    assert eqns["rate_of_change"] == (
        "level * (IF TIME > 5 THEN a / b ELSE (IF b >= a THEN 0.5 ELSE -1e-05))"
    )
    assert eqns["a"] == "2.0"
    assert eqns["level"] == "1.0"
    assert root.find("x:model/x:variables/x:gf", NS) is None
    gf = root.find("x:model/x:variables/x:aux[@name='table_value']/x:gf", NS)
    assert gf is not None
    assert gf.find("x:xscale", NS) is None
    assert gf.findtext("x:xpts", namespaces=NS) == "0.0,1.0,5.0"
    assert gf.findtext("x:ypts", namespaces=NS) == "0.0,2.0,3.0"


def test_equations_that_are_numbers_and_quoted_keywords() -> None:
    assert xmile_equation(3) == "3"
    assert xmile_equation(0.5) == "0.5"
    assert xmile_equation("then + 1") == '"then" + 1'
    with pytest.raises(SimulationError, match="XMILE cannot hold"):
        xmile_equation(float("nan"))


@pytest.mark.parametrize(("build", "t_end", "dt"), CASES)
def test_document_is_well_formed_and_declares_every_variable_once(
    build: object, t_end: float, dt: float, tmp_path: Path
) -> None:
    model = build()  # type: ignore[operator]
    path = tmp_path / "model.xmile"
    text = export_xmile(model, path, t_end=t_end, dt=dt)
    assert path.read_text(encoding="utf-8") == text
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{XMILE_NAMESPACE}}}xmile"
    assert root.findtext("x:header/x:vendor", namespaces=NS) == "smbgrowth"
    assert root.findtext("x:header/x:product", namespaces=NS) == "smbgrowth"
    specs = root.find("x:sim_specs", NS)
    assert specs is not None
    assert specs.get("method") == "Euler"
    assert specs.get("time_units") == "Months"
    assert float(specs.findtext("x:start", namespaces=NS) or "nan") == 0.0
    assert float(specs.findtext("x:stop", namespaces=NS) or "nan") == t_end
    assert float(specs.findtext("x:dt", namespaces=NS) or "nan") == dt

    variables = root.find("x:model/x:variables", NS)
    assert variables is not None
    names = Counter(v.get("name") for v in variables)
    expected = [
        *(s.name for s in model.stocks),
        *(f.name for f in model.flows),
        *(a.name for a in model.auxiliaries),
        *(c.name for c in model.constants),
    ]
    assert names == Counter(expected)
    assert all(count == 1 for count in names.values())
    kinds = {v.get("name"): v.tag.split("}")[1] for v in variables}
    assert all(kinds[s.name] == "stock" for s in model.stocks)
    assert all(kinds[f.name] == "flow" for f in model.flows)
    # every lookup is a graphical function embedded in the variable that calls it
    embedded = [gf.findtext("x:ypts", namespaces=NS) for gf in variables.iterfind("*/x:gf", NS)]
    assert sorted(embedded) == sorted(",".join(repr(y) for y in lk.ys) for lk in model.lookups)
    # bi-flows carry no <non_negative/>; uniflows and non-negative stocks do
    for flow in model.flows:
        element = variables.find(f"x:flow[@name='{flow.name}']", NS)
        assert element is not None
        assert (element.find("x:non_negative", NS) is not None) == flow.non_negative


def test_names_equal_ignoring_case_are_refused() -> None:
    model = Model(
        name="clash",
        stocks=[Stock("users", 1.0)],
        flows=[Flow("Users_in", None, "users", "0")],
        constants=[Constant("USERS", 1.0)],
    )
    with pytest.raises(SimulationError, match="ignore case"):
        export_xmile(model, None, t_end=1, dt=1)


@pytest.mark.parametrize(("build", "t_end", "dt"), CASES)
def test_pysd_reproduces_smbgrowth(build: object, t_end: float, dt: float, tmp_path: Path) -> None:
    pysd = pytest.importorskip("pysd")
    model = build()  # type: ignore[operator]
    ours = simulate(model, t_end=t_end, dt=dt)
    assert all(count == 0 for count in ours.clipped.values())
    path = tmp_path / "model.xmile"
    export_xmile(model, path, t_end=t_end, dt=dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PySD warns when a lookup holds its end value
        theirs = pysd.read_xmile(str(path)).run(
            return_columns=[*ours.stocks, *ours.flows], return_timestamps=ours.time
        )
    np.testing.assert_allclose(theirs.index.to_numpy(dtype=float), ours.time)
    for name in [*ours.stocks, *ours.flows]:
        np.testing.assert_allclose(
            theirs[name].to_numpy(dtype=float), ours[name][:, 0], rtol=1e-6, atol=0, err_msg=name
        )


def test_pysd_reproduces_every_construct(tmp_path: Path) -> None:
    pysd = pytest.importorskip("pysd")
    model = _tiny_model()
    ours = simulate(model, t_end=10, dt=0.25)
    path = tmp_path / "tiny.xmile"
    export_xmile(model, path, t_end=10, dt=0.25)
    names = [*ours.stocks, *ours.flows, *ours.auxiliaries]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_xmile(str(path)).run(return_columns=names, return_timestamps=ours.time)
    for name in names:
        np.testing.assert_allclose(
            theirs[name].to_numpy(dtype=float), ours[name][:, 0], rtol=1e-6, atol=0, err_msg=name
        )


def _lookup_model() -> Model:
    """Lookups called in every way: whole equation, inside expressions, nested, twice."""
    return Model(
        name="lookups",
        stocks=[
            Stock("level", "1 + curve(0.5)", non_negative=False),
            Stock("other", 2.0, non_negative=False),
        ],
        flows=[
            Flow("growth", None, "level", "curve(level / 10)"),
            Flow("decay", "other", None, "other * (curve(time / 4) + curve(time / 4)) / 20"),
        ],
        auxiliaries=[
            Auxiliary("nested", "curve(uneven(level) * 2) - 1"),
            Auxiliary("level_curve", "uneven(time)"),  # the name a helper would take
        ],
        lookups=[
            Lookup("curve", [0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 0.1, 0.15, 0.3, 0.2]),
            Lookup("uneven", [0.0, 0.3, 2.0, 7.5], [1.0, 0.4, 0.9, 0.6]),
            Lookup("unused", [0.0, 1.0], [0.0, 1.0], doc="Called by nothing."),
        ],
    )


def test_lookup_calls_become_embedded_graphical_functions() -> None:
    root = ET.fromstring(export_xmile(_lookup_model(), None, t_end=10, dt=0.25))
    variables = root.find("x:model/x:variables", NS)
    assert variables is not None
    eqns = {v.get("name"): v.findtext("x:eqn", namespaces=NS) for v in variables}
    tables = {
        v.get("name"): (v.findtext("x:gf/x:ypts", namespaces=NS) or "")[:7]
        for v in variables
        if v.find("x:gf", NS) is not None
    }
    assert eqns["growth"] == "level / 10"
    assert eqns["level"] == "1 + level_curve_2"
    assert eqns["level_curve_2"] == "0.5"
    assert eqns["decay"] == "other * (decay_curve + decay_curve) / 20"
    assert eqns["decay_curve"] == "TIME / 4"
    assert eqns["nested"] == "nested_curve - 1"
    assert eqns["nested_curve"] == "nested_uneven * 2"
    assert eqns["nested_uneven"] == "level"
    assert eqns["level_curve"] == "TIME"
    assert tables == {
        "growth": "0.0,0.1",
        "level_curve_2": "0.0,0.1",
        "decay_curve": "0.0,0.1",
        "nested_curve": "0.0,0.1",
        "nested_uneven": "1.0,0.4",
        "level_curve": "1.0,0.4",
    }
    # evenly spaced points by their range, others point by point
    assert variables.find("x:flow[@name='growth']/x:gf/x:xscale", NS) is not None
    assert variables.findtext("x:aux[@name='nested_uneven']/x:gf/x:xpts", namespaces=NS) == (
        "0.0,0.3,2.0,7.5"
    )
    # only the lookup nothing calls stays a stand-alone graphical function
    alone = variables.findall("x:gf", NS)
    assert [gf.get("name") for gf in alone] == ["unused"]


def test_pysd_reproduces_lookup_calls(tmp_path: Path) -> None:
    pysd = pytest.importorskip("pysd")
    model = _lookup_model()
    ours = simulate(model, t_end=10, dt=0.25)
    path = tmp_path / "lookups.xmile"
    export_xmile(model, path, t_end=10, dt=0.25)
    names = [*ours.stocks, *ours.flows, *ours.auxiliaries]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_xmile(str(path)).run(return_columns=names, return_timestamps=ours.time)
    for name in names:
        np.testing.assert_allclose(
            theirs[name].to_numpy(dtype=float), ours[name][:, 0], rtol=1e-6, atol=0, err_msg=name
        )


def test_pysd_interpolates_called_lookups_with_numpy(tmp_path: Path) -> None:
    """Called lookups must not become PySD lookup objects (xarray, ~60x slower)."""
    pysd = pytest.importorskip("pysd")
    path = tmp_path / "market_growth.xmile"
    export_xmile(market_growth("F"), path, t_end=100, dt=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pysd.read_xmile(str(path))
    translated = path.with_suffix(".py").read_text(encoding="utf-8")
    assert "HardcodedLookups" not in translated
    assert translated.count("np.interp(") == 3
