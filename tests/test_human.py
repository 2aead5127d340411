"""A person at a seat: the round waits for them, only their seat is theirs, and a forced round
lets an agent answer."""

from __future__ import annotations

import pandas as pd
import pytest

from agents.human import accept, reject
from negotiation import BlocModel, load_scenario
from negotiation.engine.model import AwaitingDecisions
from negotiation.rules.types import (
    COMPONENTS,
    Action,
    Decision,
    Reason,
    SupplierAction,
    SupplierMove,
)


@pytest.fixture(scope="module")
def default():
    return load_scenario("ministerial-2026")


def test_the_round_waits_for_a_person(default):
    m = BlocModel(default, strategies={"japan": "human"}, rng=0)
    assert m.awaiting() == ["japan"]
    with pytest.raises(AwaitingDecisions, match="japan"):
        m.play()
    m.step()  # Mesa's step waits quietly
    assert m.round == 0
    view = m.prepare_round().views["japan"]
    assert set(view.outcomes) == {"accept", "reject"}
    assert set(view.outcomes["accept"]) == set(COMPONENTS)
    m.submit("japan", accept())
    m.step()
    assert m.round == 1
    assert m.actors_df.query("round == 1 and actor == 'japan'")["member"].item()


def test_only_a_persons_seat_takes_their_decision(default):
    m = BlocModel(default, strategies={"japan": "human"}, rng=0)
    with pytest.raises(ValueError, match="played by an agent"):
        m.submit("eu", accept())
    with pytest.raises(ValueError, match="nothing to decide"):
        m.submit("us", accept())  # already a member, played by an agent
    with pytest.raises(ValueError, match="submits a SupplierMove"):
        m.submit("supplier", accept())


def test_a_forced_round_lets_an_agent_answer(default):
    m = BlocModel(default, strategies={"japan": "human"}, rng=0)
    m.play(force=True)
    text = " ".join(m.events_df.query("actor == 'japan'")["text"])
    assert "no answer in time; an agent decided" in text


def test_a_person_can_reject_and_then_leave(default):
    m = BlocModel(default, strategies={"eu": "human"}, rng=0)
    m.submit("eu", accept())
    m.step()
    assert "eu" in m.members
    assert "eu" in m.awaiting()  # a member played by a person is asked whether it stays
    m.submit("eu", reject())
    m.step()
    assert "eu" not in m.members
    assert m.events_df.query("round == 2 and actor == 'eu'")["kind"].tolist() == ["left"]


def test_a_counter_proposal_with_its_own_terms_is_decided_by_the_members(default):
    """A person's counter names its own terms and the members decide it. In the ministerial
    world Japan's joining costs the United States the penalty it collects on Japan's trade, so it
    refuses a lower penalty and nothing changes; under a price-gap floor with no penalty, Japan's
    joining shares the US's bill for the gap, so it agrees to floors half as high again: those
    are the bloc's floors from that round and Japan is a member."""
    m = BlocModel(default, strategies={"japan": "human"}, rng=0)
    floors = m.floors.copy()
    terms = {"floors": {"rare_earths": 60000.0}, "penalty": 0.02}
    m.submit("japan", Decision(Action.COUNTER, Reason({}), terms=terms))
    m.step()
    event = m.events_df.query("actor == 'japan'")["text"].iloc[0]
    assert "counter-proposed" in event and "refused" in event
    assert "japan" not in m.members
    assert (m.floors == floors).all() and m.rounds_df["penalty"].iloc[-1] == 0.05

    m = BlocModel(default, strategies={"japan": "human"}, instrument="price_gap", penalty=0.0,
                  supplier_strategy="passive", rng=0)  # fmt: skip
    higher = {k: 1.5 * float(v) for k, v in zip(m.minerals, m.floors) if v > 0}
    m.submit("japan", Decision(Action.COUNTER, Reason({}), terms={"floors": higher}))
    m.step()
    event = m.events_df.query("actor == 'japan'")["text"].iloc[0]
    assert "counter-proposed" in event and "United States agreed" in event
    assert "japan" in m.members
    last = m.rounds_df.iloc[-1]
    for mineral, floor in higher.items():
        assert last[f"floor_{mineral}"] == pytest.approx(floor)


def test_a_person_plays_the_supplier(default):
    m = BlocModel(default, supplier_strategy="human-supplier", rng=0)
    assert m.awaiting() == ["supplier"]
    m.submit("supplier", SupplierMove(SupplierAction.EXPORT_CONTROLS, ("gallium",), 0.8))
    m.step()
    r = m.rounds_df.iloc[-1]
    assert r["supplier_action"] == "export_controls" and r["supplier_target"] == "gallium"
    assert "a person's move" in " ".join(m.events_df["text"])


def test_a_script_of_decisions_replays_a_session(default):
    script = {1: accept(), 2: accept(), 3: reject(), 4: accept()}

    def play():
        m = BlocModel(default, strategies={"mexico": "human"}, rounds=6, rng=3)
        while m.round < m.rounds:
            if "mexico" in m.awaiting():
                m.submit("mexico", script.get(m.round + 1, accept()))
            m.step()
        return m

    a, b = play(), play()
    pd.testing.assert_frame_equal(a.actors_df, b.actors_df)
    pd.testing.assert_frame_equal(a.events_df, b.events_df)


def test_run_does_not_wait_forever_for_a_person(default):
    m = BlocModel(default, strategies={"japan": "human"}, rng=0)
    with pytest.raises(AwaitingDecisions):
        m.run()
