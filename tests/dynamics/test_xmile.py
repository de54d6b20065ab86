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
    assert eqns["table_value"] == "table(a * 2)"
    assert eqns["rate_of_change"] == (
        "level * (IF TIME > 5 THEN a / b ELSE (IF b >= a THEN 0.5 ELSE -1e-05))"
    )
    assert eqns["a"] == "2.0"
    assert eqns["level"] == "1.0"
    gf = root.find("x:model/x:variables/x:gf", NS)
    assert gf is not None
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
        *(lk.name for lk in model.lookups),
    ]
    assert names == Counter(expected)
    assert all(count == 1 for count in names.values())
    kinds = {v.get("name"): v.tag.split("}")[1] for v in variables}
    assert all(kinds[s.name] == "stock" for s in model.stocks)
    assert all(kinds[f.name] == "flow" for f in model.flows)
    assert all(kinds[lk.name] == "gf" for lk in model.lookups)
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
