"""Units checked when a model is built: parsing, inference rules, wildcards, flows vs stocks."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbgrowth.dynamics import (
    Auxiliary,
    Constant,
    Flow,
    Lookup,
    Model,
    Stock,
    bass_diffusion,
    market_growth,
)
from smbgrowth.dynamics.units import DIMENSIONLESS, Unit, infer_unit, parse_unit
from smbgrowth.errors import SimulationError


def unit(text: str) -> Unit:
    parsed = parse_unit(text)
    assert parsed is not None
    return parsed


def one_line(excinfo: pytest.ExceptionInfo[SimulationError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def aux_model(
    equation: str,
    declared: str,
    constants: dict[str, str],
    *,
    lookups: tuple[Lookup, ...] = (),
    time_unit: str = "",
) -> Model:
    """One auxiliary ``x`` over constants with the given units (all equal to 2)."""
    return Model(
        name="m",
        auxiliaries=[Auxiliary("x", equation, declared)],
        constants=[Constant(name, 2.0, u) for name, u in constants.items()],
        lookups=lookups,
        time_unit=time_unit,
    )


# --- parsing ---------------------------------------------------------------------------


def test_empty_is_undeclared_and_one_is_dimensionless() -> None:
    assert parse_unit("") is None
    assert parse_unit("   ") is None
    assert parse_unit("1") == DIMENSIONLESS
    assert parse_unit("dimensionless") == DIMENSIONLESS
    assert DIMENSIONLESS.is_dimensionless and str(DIMENSIONLESS) == "1"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("money/customer/month", "money/(customer*month)"),
        ("1/month*month", "1"),
        ("people^2/month", "people*people/month"),
        ("people**2/month", "people^2*month^-1"),
        ("month**-1", "1/month"),
        ("area^0.5", "area^(1/2)"),
        ("tasks/(people*month)", "tasks / people / month"),
        ("(money/month)^2", "money*money/(month*month)"),
        ("dimensionless/month", "1/month"),
    ],
)
def test_equivalent_spellings_have_the_same_canonical_unit(left: str, right: str) -> None:
    assert unit(left) == unit(right)


@pytest.mark.parametrize(
    "text",
    [
        "customers",
        "customers/month",
        "money",
        "money/month",
        "money/customer",
        "people",
        "tasks/month",
        "tasks/(people*month)",
        "1",
        "1/month",
    ],
)
def test_units_of_the_smb_models_parse(text: str) -> None:
    assert parse_unit(text) is not None


def test_canonical_form_and_exponents() -> None:
    parsed = unit("tasks/(people*month)")
    assert parsed.exponents == {"month": -1, "people": -1, "tasks": 1}
    assert str(parsed) == "tasks/(month*people)"
    assert str(unit("people*people/month")) == "people^2/month"
    assert str(unit("area^0.5")) == "area^(1/2)"
    assert str(unit("1/month")) == "1/month"
    assert Unit.of({"money": 1, "month": Fraction(-1)}) == unit("money/month")


def test_tokens_are_compared_exactly() -> None:
    assert unit("customer") != unit("customers")
    assert unit("month") != unit("months")


@pytest.mark.parametrize(
    "text", ["$/month", "money//month", "money/", "(money", "1000*money", "money^x", "a b"]
)
def test_a_bad_unit_string_is_rejected_naming_the_variable(text: str) -> None:
    with pytest.raises(SimulationError) as excinfo:
        Model(name="m", constants=[Constant("price", 1.0, text)])
    message = one_line(excinfo)
    assert "constant 'price'" in message and repr(text) in message


def test_bad_lookup_and_time_units_are_rejected() -> None:
    with pytest.raises(SimulationError, match=r"lookup 't' \(x_unit\)"):
        Model(name="m", lookups=[Lookup("t", [0, 1], [0, 1], x_unit="(")])
    with pytest.raises(SimulationError, match="time_unit"):
        Model(name="m", time_unit="month/")


# --- inference rules, each with a passing and a failing model ----------------------------


def test_auxiliary_equation_must_give_its_declared_unit() -> None:
    aux_model("a * b", "people^2/month", {"a": "people", "b": "people/month"})
    with pytest.raises(SimulationError) as excinfo:
        aux_model("a * b", "people/month", {"a": "people", "b": "people/month"})
    message = one_line(excinfo)
    assert "auxiliary 'x'" in message
    assert "people/month" in message and "people^2/month" in message
    assert "'a * b'" in message


def test_addition_subtraction_min_max_need_equal_units() -> None:
    units = {"a": "people/month", "b": "people", "c": "people"}
    aux_model("b - c + min(b, c) + max(b, c, 3)", "people", units)
    for equation, detail in [
        ("a + b", "people/month + people"),
        ("b - a", "people - people/month"),
        ("min(a, b)", "min(people/month, people)"),
        ("max(b, c, a)", "max(people, people, people/month)"),
    ]:
        with pytest.raises(SimulationError) as excinfo:
            aux_model(equation, "", units)
        message = one_line(excinfo)
        assert "auxiliary 'x'" in message and detail in message, message


def test_an_inner_mismatch_names_the_piece_and_the_equation() -> None:
    with pytest.raises(SimulationError) as excinfo:
        aux_model("2 * (a + b)", "people", {"a": "people/month", "b": "people"})
    message = one_line(excinfo)
    assert "in 'a + b'" in message and "(equation '2 * (a + b)')" in message


def test_comparisons_need_equal_units_and_give_dimensionless() -> None:
    aux_model("a < b", "1", {"a": "money", "b": "money"})
    with pytest.raises(SimulationError, match="has unit money but its equation gives 1"):
        aux_model("a < b", "money", {"a": "money", "b": "money"})
    with pytest.raises(SimulationError) as excinfo:
        aux_model("a <= b", "1", {"a": "money", "b": "people"})
    assert "money <= people" in one_line(excinfo)


def test_if_then_else_branches_need_equal_units_and_the_condition_is_free() -> None:
    units = {"a": "money", "b": "money", "c": "people"}
    aux_model("if_then_else(c > 3, a, b)", "money", units)
    with pytest.raises(SimulationError) as excinfo:
        aux_model("if_then_else(a > 0, a, c)", "money", units)
    message = one_line(excinfo)
    assert "money" in message and "people" in message and "branches" in message


def test_multiplication_and_division_combine_units() -> None:
    aux_model("a / b * c", "tasks/month", {"a": "tasks", "b": "people", "c": "people/month"})
    with pytest.raises(SimulationError) as excinfo:
        aux_model("a / b", "tasks/month", {"a": "tasks", "b": "people"})
    message = one_line(excinfo)
    assert "tasks/month" in message and "tasks/people" in message


def test_power_needs_a_dimensionless_literal_exponent_when_the_base_has_units() -> None:
    units = {"a": "month", "r": "1", "n": "1", "t": "month"}
    aux_model("a ** 2 / a", "month", units)
    aux_model("(a * a) ** 0.5", "month", units)
    aux_model("(a * a * a) ** (1 / 3)", "month", units)
    aux_model("a ** -1", "1/month", units)
    aux_model("(1 + r) ** n", "1", units)  # a dimensionless base takes any exponent
    with pytest.raises(SimulationError) as excinfo:
        aux_model("a ** 2", "month", units)
    message = one_line(excinfo)
    assert "has unit month but its equation gives month^2" in message
    with pytest.raises(SimulationError) as excinfo:
        aux_model("a ** n", "", units)
    assert "needs a number as exponent" in one_line(excinfo)
    with pytest.raises(SimulationError) as excinfo:
        aux_model("r ** t", "", units)
    message = one_line(excinfo)
    assert "exponent must be dimensionless" in message and "month" in message


def test_exp_and_log_need_dimensionless_arguments() -> None:
    units = {"a": "money", "b": "money", "k": "1/month", "t": "month"}
    aux_model("exp(k * t) + log(a / b)", "1", units)
    with pytest.raises(SimulationError) as excinfo:
        aux_model("exp(k)", "", units)
    message = one_line(excinfo)
    assert "exp needs a dimensionless argument" in message and "1/month" in message
    with pytest.raises(SimulationError, match="log needs a dimensionless argument"):
        aux_model("log(a)", "", units)
    with pytest.raises(SimulationError, match="has unit money but its equation gives 1"):
        aux_model("exp(k * t)", "money", units)


def test_abs_and_unary_minus_keep_the_unit() -> None:
    aux_model("abs(-a)", "money", {"a": "money"})
    with pytest.raises(SimulationError, match="has unit people but its equation gives money"):
        aux_model("abs(-a)", "people", {"a": "money"})


def test_time_has_the_model_time_unit() -> None:
    aux_model("time * k", "1", {"k": "1/month"}, time_unit="month")
    with pytest.raises(SimulationError) as excinfo:
        aux_model("time * k", "1", {"k": "1/week"}, time_unit="month")
    message = one_line(excinfo)
    assert "auxiliary 'x'" in message and "month/week" in message
    aux_model("time * k", "1", {"k": "1/week"})  # no time unit: time is a wildcard


def test_lookup_argument_and_result_units() -> None:
    table = Lookup("effect", [0, 10], [1, 0], "", x_unit="month", y_unit="1")
    aux_model("effect(a) * b", "money", {"a": "month", "b": "money"}, lookups=(table,))
    with pytest.raises(SimulationError) as excinfo:
        aux_model("effect(b)", "1", {"a": "month", "b": "money"}, lookups=(table,))
    message = one_line(excinfo)
    assert "lookup 'effect' takes x in month" in message and "money" in message
    with pytest.raises(SimulationError, match="has unit money but its equation gives 1"):
        aux_model("effect(a)", "money", {"a": "month"}, lookups=(table,))


def test_lookups_without_units_are_wildcards() -> None:
    table = Lookup("effect", [0, 10], [1, 0])
    assert table.x_unit == "" and table.y_unit == ""
    aux_model("effect(b) * b", "anything", {"b": "money"}, lookups=(table,))


# --- wildcards ------------------------------------------------------------------------


def test_numbers_and_undeclared_names_are_wildcards() -> None:
    aux_model("a + 1", "money", {"a": "money"})
    aux_model("a + u", "money", {"a": "money", "u": ""})
    aux_model("2 * a", "people", {"a": "money"})  # a number adopts the unit needed
    aux_model("u * u", "money", {"u": ""})
    aux_model("a * b", "", {"a": "money", "b": "people"})  # undeclared result: not checked


def test_infer_unit_directly() -> None:
    names = {"a": unit("money"), "b": unit("month"), "u": None}
    assert infer_unit("x", "a / b", names=names) == unit("money/month")
    assert infer_unit("x", "a / u", names=names) is None
    assert infer_unit("x", 3.0, names=names) is None
    assert infer_unit("x", "time", names=names, time_unit=unit("week")) == unit("week")
    assert infer_unit("x", "a + 1", names=names) == unit("money")


# --- stocks and flows -------------------------------------------------------------------


def stock_flow_model(
    stock_unit: str, flow_unit: str, time_unit: str = "month", initial: float | str = 0.0
) -> Model:
    return Model(
        name="m",
        stocks=[Stock("customers", initial, stock_unit)],
        flows=[Flow("signups", None, "customers", "rate", flow_unit)],
        constants=[Constant("rate", 5.0, flow_unit), Constant("start", 10.0, "customers")],
        time_unit=time_unit,
    )


def test_flow_unit_must_be_its_stock_unit_per_time_unit() -> None:
    stock_flow_model("customers", "customers/month")
    with pytest.raises(SimulationError) as excinfo:
        stock_flow_model("customers", "customers/week")
    message = one_line(excinfo)
    assert "flow 'signups'" in message and "'customers'" in message
    assert "customers/week" in message and "customers/month" in message
    with pytest.raises(SimulationError, match="flow 'signups' has unit customers but"):
        stock_flow_model("customers", "customers")


def test_flow_equation_must_give_its_declared_unit() -> None:
    with pytest.raises(SimulationError) as excinfo:
        Model(
            name="m",
            stocks=[Stock("customers", 0.0, "customers")],
            flows=[Flow("signups", None, "customers", "start", "customers/month")],
            constants=[Constant("start", 10.0, "customers")],
            time_unit="month",
        )
    message = one_line(excinfo)
    assert "flow 'signups' has unit customers/month but its equation gives customers" in message


def test_flow_is_checked_against_both_of_its_stocks() -> None:
    def model(target_unit: str) -> Model:
        return Model(
            name="m",
            stocks=[Stock("leads", 10.0, "people"), Stock("customers", 0.0, target_unit)],
            flows=[Flow("conversion", "leads", "customers", "leads * k", "people/month")],
            constants=[Constant("k", 0.1, "1/month")],
            time_unit="month",
        )

    model("people")
    with pytest.raises(SimulationError) as excinfo:
        model("customers")
    message = one_line(excinfo)
    assert "target stock 'customers'" in message and "customers/month" in message


def test_stock_initial_value_must_have_the_stock_unit() -> None:
    stock_flow_model("customers", "customers/month", initial="start * 2")
    with pytest.raises(SimulationError) as excinfo:
        stock_flow_model("customers", "customers/month", initial="rate")
    message = one_line(excinfo)
    assert "stock 'customers' has unit customers but its initial value gives" in message
    assert "customers/month" in message


def test_without_a_time_unit_flows_must_imply_the_same_one() -> None:
    def model(second_flow_unit: str) -> Model:
        return Model(
            name="m",
            stocks=[Stock("cash", 0.0, "money"), Stock("staff", 1.0, "people")],
            flows=[
                Flow("income", None, "cash", "3", "money/month"),
                Flow("hiring", None, "staff", "1", second_flow_unit),
            ],
        )

    model("people/month")
    with pytest.raises(SimulationError) as excinfo:
        model("people/week")
    message = one_line(excinfo)
    assert "imply different time units" in message
    assert "'income'" in message and "'hiring'" in message
    assert "month" in message and "week" in message


def test_undeclared_flow_or_stock_units_are_not_checked() -> None:
    stock_flow_model("", "customers/week")
    stock_flow_model("customers", "")


# --- reference models -------------------------------------------------------------------


def test_reference_models_pass_and_declare_months() -> None:
    assert bass_diffusion().time_unit == "month"
    for scenario in ("F",):
        assert market_growth(scenario).time_unit == "month"


def test_a_wrong_unit_in_a_reference_model_is_caught() -> None:
    model = bass_diffusion()
    auxiliaries = [
        Auxiliary(a.name, a.equation, "people" if a.name == "imitation" else a.unit)
        for a in model.auxiliaries
    ]
    with pytest.raises(SimulationError) as excinfo:
        Model(
            name=model.name,
            stocks=model.stocks,
            flows=model.flows,
            auxiliaries=auxiliaries,
            constants=model.constants,
            time_unit=model.time_unit,
        )
    message = one_line(excinfo)
    assert "auxiliary 'imitation' has unit people but its equation gives people/month" in message


# --- properties ---------------------------------------------------------------------------

BASES = ["customers", "money", "people", "tasks", "month", "week"]


@st.composite
def unit_strings(draw: st.DrawFn) -> str:
    """A random unit string in the grammar, e.g. ``money^2/(people*month)``."""
    factors = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=4))
    text = factors[0]
    for factor in factors[1:]:
        power = draw(st.sampled_from(["", "^2", "^-1", "**0.5", "^(1/3)"]))
        text += draw(st.sampled_from(["*", "/"])) + factor + power
    return draw(st.sampled_from([text, f"({text})", f"1/({text})"]))


@settings(max_examples=150, deadline=None)
@given(unit_strings())
def test_canonical_spelling_round_trips(text: str) -> None:
    parsed = unit(text)
    assert unit(str(parsed)) == parsed
    assert unit(f"{text}*month/month") == parsed


@settings(max_examples=100, deadline=None)
@given(unit_strings(), unit_strings(), st.sampled_from(["a", "a + b", "min(a, b)", "b * a / b"]))
def test_unit_errors_are_single_lines_naming_variable_and_units(
    declared: str, given_unit: str, equation: str
) -> None:
    try:
        aux_model(equation, declared, {"a": given_unit, "b": given_unit})
    except SimulationError as exc:
        message = str(exc)
        assert "\n" not in message
        assert "auxiliary 'x'" in message
        assert declared in message and str(unit(given_unit)) in message
    else:
        assert unit(declared) == unit(given_unit)
