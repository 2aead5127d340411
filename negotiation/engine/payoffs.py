"""Each actor's utility as a sum of named components, in USD per year, for K outcomes at once.

Pure numpy, no Mesa. Components (see `negotiation.rules.types.COMPONENTS`):

- producer_surplus: area left of the actor's supply ramp at the price its producers receive; for
  the supplier, plus (world price - reference price) on any volume it floods (revenue given up);
- consumer_cost: -(buyers' consumer surplus lost against the reference price, the area left of
  their constant-elasticity demand curve; zero at 2024 prices), plus, for members, what their
  buyers pay of the penalty on outsiders' covered goods;
- tariff_revenue: the member's share of tariffs on non-member minerals, by its net imports, plus
  the penalty it collects on outsiders' covered goods;
- fiscal_outlay: -(member's cost-sharing share of price-gap payments, of stockpile purchases
  net of the stock they buy, an asset worth `stock_resale` times the lower of the price paid and
  `stock_mark`, the price without the bloc's support, and of the book value of the stock released
  in a disruption, the asset used up); the cash is capped by its fiscal capacity (the support
  beyond the members' budgets is rationed);
- supply_security: -risk premium x reference value of consumption x dependence, where dependence
  is the calibrated exposure moved by the supplier's share of the supply the actor buys, measured
  the same way in and out (members' secured supply and stockpile cover lower it); minus, under
  export controls, the value of the supplier-sourced supply cut off (aimed controls hit members,
  blanket ones every buyer) at the world price, less for members the tonnes the stockpile
  releases to them; for the supplier, -strategic weight x value of the bloc's share of world
  supply;
- openness: -(hub business x the discrimination a member applies: penalty plus average tariff);
- retaliation (side deals): a side offer received while outside; for the supplier, -(offers paid);
- market_access: -(the exporter's loss on covered goods it sells into the bloc as a non-member,
  by the elasticities of trade: the part of the penalty it bears).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negotiation.engine._kernels import OUTCOME_KAM, OUTCOME_KM, components_of, score_kernel
from negotiation.engine.market import MarketData, Outcome, Policies, as_array, as_rows, clear_args
from negotiation.rules.types import COMPONENTS


@dataclass(frozen=True)
class Profiles:
    """Per-actor parameters of the payoffs. Arrays of shape (A,) or (A, M)."""

    risk_premium: np.ndarray  # (A,)
    openness_value: np.ndarray  # (A,) USD/yr
    weights: np.ndarray  # (A, C)
    cost_sharing: np.ndarray  # (A,) or (K, A) raw key, renormalised over members
    strategic_weight: float  # the supplier's value on a small bloc
    base_supplier_share: np.ndarray  # (M,) the supplier's share of world supply, no policy
    stock_held: np.ndarray | float = 0.0  # (M,) t the bloc's stockpile holds
    covered: np.ndarray | float = 0.0  # (A, A) USD/yr of covered goods a sells to b
    trade_eps: tuple[float, float] = (-1.5, 1.5)  # covered goods: demand, export supply
    fiscal_cap: np.ndarray | float = 1e300  # (A,) USD/yr each member can spend on support
    stock_resale: float = 0.0  # share of its market value a stock fetches sold (see stock_mark)
    #: (M,) USD/t the price the market pays without the bloc's support: a tonne the stockpile
    #: bought is worth stock_resale x the lower of this and the price paid (inf: the price paid)
    stock_mark: np.ndarray | float = np.inf
    #: (M,) USD the stock held is worth on the fund's books (what its tonnes cost net of the
    #: loss counted when they were bought): a tonne released in a disruption takes its share.
    #: Give it with any stock held: 0 is a stock that cost nothing, released free.
    stock_book: np.ndarray | float = 0.0
    round_years: float = 30 / 365  # a round's length: the stock releases over it


def components(
    data: MarketData,
    prof: Profiles,
    pol: Policies,
    out: Outcome,
    side_offer: np.ndarray | None = None,
) -> np.ndarray:
    """Utility components, shape (K, A, C), USD per year. `side_offer`: (K, A) USD/yr.

    Computed as the module docstring says by `negotiation.engine._kernels.components_kernel` (its
    numpy form is the test oracle in tests/reference_market.py)."""
    a = _profile_args(data, prof, pol, side_offer)
    comp = components_of(a, *_kernel_outcome(out))
    assert comp.shape[2] == len(COMPONENTS)
    return comp


def _kernel_outcome(out: Outcome) -> tuple[np.ndarray, np.ndarray]:
    """The outcome as the kernels' two arrays."""
    km = np.stack([getattr(out, f) for f in OUTCOME_KM])
    kam = np.stack([getattr(out, f) for f in OUTCOME_KAM])
    return km, kam


def _profile_args(data: MarketData, prof: Profiles, pol: Policies, side_offer) -> tuple:
    """The arguments of `components_kernel` other than the outcome, in its compiled types."""
    K, A = pol.member.shape
    M = data.cost.shape[1]
    f = as_array
    return (
        data.ref_price,
        data.cost,
        data.spread,
        data.consumption,
        data.exposure,
        data.supplier,
        f(prof.risk_premium, (A,)),
        f(prof.openness_value, (A,)),
        f(prof.cost_sharing, (K, A)),
        float(prof.strategic_weight),
        f(prof.base_supplier_share, (M,)),
        f(pol.member, (K, A), np.bool_),
        f(pol.penalty, (K,)),
        f(pol.flood, (K, M)),
        f(pol.control, (K, M)),
        f(pol.blanket, (K, M)),
        as_rows(pol.capacity, (K, A, M)),
        f(prof.stock_held, (M,)),
        f(prof.covered, (A, A)),
        f(prof.trade_eps, (2,)),
        data.elasticity,
        as_rows(pol.demand_shift, (K, M)),
        f(0.0 if side_offer is None else side_offer, (K, A)),
        float(prof.stock_resale),
        f(prof.stock_mark, (M,)),
        f(prof.stock_book, (M,)),
        float(prof.round_years),
    )


def utility(comp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of components: (K, A, C) x (A, C) -> (K, A), USD per year, summed in the
    components' order (as the kernels do, so that the two agree to the last bit)."""
    weighted = comp * weights[None]
    total = weighted[..., 0].copy()
    for c in range(1, weighted.shape[2]):
        total += weighted[..., c]
    return total


def score(
    data: MarketData,
    prof: Profiles,
    pol: Policies,
    weights: np.ndarray,
    guess: np.ndarray | None = None,
    autarky_guess: np.ndarray | None = None,
    side_offer: np.ndarray | None = None,
) -> tuple[Outcome, np.ndarray, np.ndarray]:
    """`clear`, `components` and `utility` one after another, in one compiled call:
    (outcome, components (K, A, C), utility (K, A)), the same numbers where members' budgets
    cover the floor support; where they do not, the support is rationed (`score_kernel`).

    The plain entry point, over full (K, ...) arrays: the model never calls it. Its evaluator
    (`negotiation.engine.evaluator.Evaluator`) packs a batch's packages for `batch_kernel`, which
    runs the same compiled code; `Evaluator.spelled_out` gives the same packages in this plain form,
    so that checks (tests/test_model.py, `validation.brute_force_stability`) score them here,
    apart from the model's packing."""
    outcome, comp, util = score_kernel(
        clear_args(data, pol, guess, autarky_guess),
        _profile_args(data, prof, pol, side_offer),
        as_array(weights, (pol.member.shape[1], len(COMPONENTS))),
        as_array(prof.fiscal_cap, (pol.member.shape[1],)),
    )
    return Outcome.from_kernel(*outcome), comp, util
