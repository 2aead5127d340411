"""Every registered strategy passes the contract; scripted opponents pin exact decisions."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from agents import ALL_STRATEGIES, COUNTRY_STRATEGIES, STRATEGIES, make_strategy
from agents.views import CountryView, Forecast, SupplierView
from negotiation.rules.bargaining import BargainingState, Offer
from negotiation.rules.types import (
    COMPONENTS,
    Action,
    CounterOption,
    Decision,
    Instrument,
    Package,
    Reason,
    SupplierAction,
    SupplierMove,
)

STAKE = 1e10


def reason(total: float) -> Reason:
    deltas = dict.fromkeys(COMPONENTS, 0.0)
    deltas["supply_security"] = total + 1e8
    deltas["consumer_cost"] = -1e8
    return Reason(deltas)


def country_view(gain: float, *, elapsed=1, deadline=None, history=(), rnd=1, seed=0,
                 other: dict[float, float] | None = None) -> CountryView:  # fmt: skip
    """A view where joining at the proposed floors gains `gain` x stake (and `other` scales)."""
    gains = {1.0: reason(gain * STAKE)}
    for s, g in (other or {}).items():
        gains[s] = reason(g * STAKE)
    # The other scales are counters the members would take.
    counters = tuple(
        CounterOption(f"every floor x{s:g}", gains[s], True, {"us": True}, s)
        for s in sorted(other or {})
    )
    return CountryView(
        actor="japan",
        round=rnd,
        elapsed=elapsed,
        deadline=deadline,
        package=Package(frozenset({"us"}), (100.0,), Instrument.BORDER, 0.05, (1.0, 1.0), "us"),
        gains=gains,
        stake=STAKE,
        members=frozenset({"us"}),
        history=tuple(history),
        rng=np.random.default_rng(seed),
        counters=lambda: counters,
    )


def supplier_view(seed=0, members=("us", "japan")) -> SupplierView:
    members = frozenset(members)

    def forecast(moves):
        # A scripted world: export controls pry Japan out and are worth most.
        out = []
        for mv in moves:
            value = {"normal": 1.0, "flood": 0.5, "export_controls": 2.0, "side_offer": 1.5}
            after = members - {"japan"} if mv.action is SupplierAction.EXPORT_CONTROLS else members
            out.append(Forecast(mv, value[mv.action.value], after))
        return out

    return SupplierView(
        actor="supplier",
        round=1,
        members=members,
        minerals=("rare_earths", "copper"),
        floors={"rare_earths": 110000.0, "copper": 0.0},
        supplier_share={"rare_earths": 0.7, "copper": 0.08},
        margins={"us": 5e8, "japan": 1e7},
        stakes={"us": 1e11, "japan": 5e10},
        aggressiveness=0.5,
        forecast=forecast,
        rng=np.random.default_rng(seed),
    )


def bargaining_state(seed=0) -> BargainingState:
    return BargainingState(1, 0, 1, (0.9, 0.8), rng=np.random.default_rng(seed))


def decide(strategy, view):
    human = strategy.classifier.get("human")
    if strategy.classifier["role"] == "bargainer":  # answers an offer of 40% of the pie
        return strategy.respond(view, Offer(view.period, view.other, 0.6))
    if strategy.classifier["role"] == "country":
        if human:  # a person's answer arrives through the app first
            strategy.submit(Decision(Action.ACCEPT, Reason({})))
        return strategy.respond(view)
    if human:
        strategy.submit(SupplierMove(SupplierAction.FLOOD, ("rare_earths",), 0.3))
    return strategy.act(view)


def view_for(strategy, seed=0):
    if strategy.classifier["role"] == "bargainer":
        return bargaining_state(seed)
    if strategy.classifier["role"] == "country":
        return country_view(0.001, seed=seed)
    return supplier_view(seed)


@pytest.mark.parametrize("cls", ALL_STRATEGIES, ids=lambda c: c.name)
class TestContract:
    def test_registered_with_tags(self, cls):
        assert STRATEGIES[cls.name] is cls
        assert cls.classifier["role"] in {"country", "supplier", "bargainer"}
        for tag in ("stochastic", "memory", "lookahead"):
            assert tag in cls.classifier

    def test_clone_is_equal_and_independent(self, cls):
        """A clone has the same parameters and state, and shares no mutable part with the
        original: a person's pending answer or a change of parameter in one leaves the other
        alone."""
        s = cls()
        c = s.clone()
        assert c is not s and type(c) is type(s) and c.params == s.params
        assert repr(c) == repr(s) and c == s
        for name, value in vars(s).items():
            if isinstance(value, (dict, list, set)):
                assert vars(c)[name] is not value, f"the clone shares {name}"
        c.params["extra"] = 1.0
        assert "extra" not in s.params
        if hasattr(c, "submit"):  # a person's seat: the answer goes to the clone alone
            c.submit(Decision(Action.ACCEPT, Reason({})))
            assert s.needs_input() and not c.needs_input()

    def test_init_kwargs_are_the_parameters_given(self, cls):
        """`init_kwargs`: what the constructor was given (not the defaults), as a copy that
        changes nothing in the strategy (the lever store's settings read it)."""
        assert cls().init_kwargs == {}
        given = dict(list(cls.defaults.items())[:1])
        s = cls(**given)
        assert s.init_kwargs == given
        s.init_kwargs["extra"] = 1.0
        assert s.init_kwargs == given and repr(s) == repr(cls(**given))

    def test_pickle_round_trip(self, cls):
        s = cls()
        t = pickle.loads(pickle.dumps(s))
        assert t.params == s.params and repr(t) == repr(s)

    def test_reset_forgets(self, cls):
        """After a run's decisions, `reset` leaves the strategy as a fresh one: the same state
        and the same decisions on the same views."""
        fresh = [decide(cls(), view_for(cls(), seed=k)) for k in range(3)]
        s = cls()
        first = [decide(s, view_for(s, seed=k)) for k in range(3)]
        if hasattr(s, "submit"):  # a person's answer left waiting at the end of a run
            s.submit(Decision(Action.REJECT, Reason({})))
        s.reset()
        assert s == cls()
        assert [decide(s, view_for(s, seed=k)) for k in range(3)] == first == fresh

    def test_seeded_reproducibility(self, cls):
        """The same seed, the same decisions; a strategy that draws at random draws from the
        view's generator (different seeds give different decisions), never from a global one."""
        a = [decide(cls(), view_for(cls(), seed=k)) for k in range(20)]
        b = [decide(cls(), view_for(cls(), seed=k)) for k in range(20)]
        assert a == b
        if cls.classifier["stochastic"]:
            assert len({repr(d) for d in a}) > 1

    def test_rejects_unknown_params(self, cls):
        with pytest.raises(ValueError, match="unknown parameter"):
            cls(no_such_parameter=1.0)

    def test_decision_carries_reason(self, cls):
        s = cls()
        d = decide(s, view_for(s))
        if cls.classifier["role"] == "country":
            assert d.reason.deltas and d.reason.sentence()
        else:
            assert d.reason


def test_make_strategy_errors_name_the_problem():
    with pytest.raises(ValueError, match="did you mean 'boulware'"):
        make_strategy("boulwar")
    with pytest.raises(ValueError, match="unknown supplier strategy"):
        make_strategy("myopic", "supplier")


# ---------------------------------------------------------------------------------------------
# Scripted opponents: exact decision sequences


def actions(strategy, views):
    return [strategy.respond(v).action for v in views]


A, R, C = Action.ACCEPT, Action.REJECT, Action.COUNTER


def test_boulware_concedes_only_at_the_deadline():
    # Gain of +0.1 % of the stake; Boulware asks 2 % falling to -1 % at round 6 with e = 0.2.
    views = [country_view(0.001, elapsed=t, deadline=6) for t in range(1, 7)]
    assert actions(make_strategy("boulware"), views) == [R, R, R, R, R, A]


def test_conceder_concedes_early():
    views = [country_view(0.005, elapsed=t, deadline=6) for t in range(1, 7)]
    assert actions(make_strategy("conceder"), views) == [R, R, A, A, A, A]


def test_time_dependent_threshold_follows_the_schedule():
    s = make_strategy("time-dependent", e=1.0)
    thresholds = [s.threshold(country_view(0.0, elapsed=t, deadline=4)) for t in range(5)]
    np.testing.assert_allclose(thresholds, [0.02, 0.015, 0.01, 0.005, 0.0], atol=1e-15)


def test_myopic_counters_with_the_best_scale():
    s = make_strategy("myopic")
    v = country_view(-0.001, other={0.8: 0.002, 1.25: -0.01})
    d = s.respond(v)
    assert d.action is C and d.counter_scale == 0.8
    assert s.respond(country_view(-0.001, other={0.8: -0.002})).action is R
    assert s.respond(country_view(0.0001)).action is A


def test_a_counter_the_members_refuse_is_not_named():
    s = make_strategy("myopic")
    v = country_view(-0.001, other={0.8: 0.002})
    refused = tuple(replace(o, agreed=False) for o in v.counter_options())
    d = s.respond(replace(v, counters=lambda: refused))
    assert d.action is R


def test_reciprocal_concedes_its_margin_by_the_deadline():
    s = make_strategy("reciprocal")
    history = [(1, "eu", "left")]
    # A gain of half the margin: refused early in a track, taken once half the time is gone.
    answers = [
        s.respond(country_view(0.0051, rnd=2, elapsed=t, deadline=4, history=history)).action
        for t in (1, 2, 3, 4)
    ]
    assert answers == [R, A, A, A]
    assert s.respond(country_view(0.0051, rnd=2, history=history)).action is R  # no deadline


def test_reciprocal_mirrors_defections():
    s = make_strategy("reciprocal")
    calm = [country_view(0.002, rnd=r) for r in (1, 2)]
    after = [country_view(0.002, rnd=r, history=[(2, "eu", "left")]) for r in (3, 4, 5, 6)]
    # Takes a small gain while partners hold, demands a margin for 3 rounds after a defection,
    # then forgives.
    assert actions(s, calm + after) == [A, A, R, R, R, A]


def test_random_country_depends_only_on_the_seed():
    s = make_strategy("random", p=0.5)
    seq = [s.respond(country_view(0.0, seed=k)).action for k in range(20)]
    assert seq == [s.respond(country_view(0.0, seed=k)).action for k in range(20)]
    assert {A, R} <= set(seq)


def test_supplier_strategies_scripted():
    v = supplier_view()
    assert make_strategy("passive", "supplier").act(v).action is SupplierAction.NORMAL
    flood = make_strategy("flood", "supplier").act(v)
    assert flood.action is SupplierAction.FLOOD and flood.minerals == ("rare_earths",)
    ctrl = make_strategy("export-controls", "supplier").act(v)
    assert ctrl.action is SupplierAction.EXPORT_CONTROLS and ctrl.minerals == ("rare_earths",)
    side = make_strategy("side-offers", "supplier").act(v)
    assert side.action is SupplierAction.SIDE_OFFER and side.target == "japan"
    assert side.offer > v.margins["japan"]
    adaptive = make_strategy("adaptive", "supplier").act(v)
    assert adaptive.action is SupplierAction.EXPORT_CONTROLS
    assert "japan" in adaptive.reason
    # No bloc, nothing to do.
    empty = supplier_view(members=())
    for name in ("flood", "export-controls", "side-offers"):
        assert make_strategy(name, "supplier").act(empty).action is SupplierAction.NORMAL


def test_country_registry_is_derived_from_tags():
    assert set(COUNTRY_STRATEGIES) >= {"boulware", "conceder", "reciprocal", "myopic"}
    assert all(c.classifier["role"] == "country" for c in COUNTRY_STRATEGIES.values())
    for name, cls in COUNTRY_STRATEGIES.items():  # each name builds its class, and only it
        assert type(make_strategy(name)) is cls
    assert not set(COUNTRY_STRATEGIES) & {"flood", "export-controls", "side-offers", "adaptive"}


def test_reciprocal_does_not_punish_its_own_refusals():
    s = make_strategy("reciprocal")
    own = country_view(0.002, rnd=3, history=[(2, "japan", "rejected")])
    assert s.respond(own).action is A


def test_the_time_dependent_horizon_is_a_parameter_where_no_deadline_binds():
    """Without a deadline the schedule runs over `horizon` rounds (12 by default): twice the
    horizon, half the concession at the same round; a deadline, where there is one, rules."""
    default, slow = make_strategy("time-dependent"), make_strategy("time-dependent", horizon=24)
    assert default.threshold(country_view(0.0, elapsed=12)) == pytest.approx(0.0)
    assert slow.threshold(country_view(0.0, elapsed=12)) == pytest.approx(0.01)
    assert slow.threshold(country_view(0.0, elapsed=4, deadline=4)) == pytest.approx(0.0)
    assert make_strategy("boulware").params["horizon"] == 12
