"""jg.whatif: every edit's chain equals the hand-edited Q/R, and its figures re-solve.

References: the dense Q, R of the original map (tests/_sim_maps.py) edited by hand
with the documented rule of each edit, solved with N = inv(I - Q); the Sherman–Morrison
formula (A + u vᵀ)⁻¹ = A⁻¹ - A⁻¹u vᵀA⁻¹ / (1 + vᵀA⁻¹u) (Sherman & Morrison 1950) for a
one-row change; and the removal effect P_without_k = π0 B - (π0 N e_k / N_kk) B_k
(DESIGN.md, "Removal effect"; Anderl et al. 2016).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.chain import to_chain

from ._sim_maps import dense, random_map


def _chain_arrays(jm: jg.JourneyMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chain = to_chain(jm)
    return chain.Q.toarray(), chain.R.toarray(), chain.entry


def _solve(Q: np.ndarray, R: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.eye(len(Q)) - Q) @ R


def _churn_columns(jm: jg.JourneyMap) -> np.ndarray:
    return np.array([o.kind == "churn" for o in jm.outcomes])


def test_reweight_and_scale(tiny: jg.JourneyMap) -> None:
    before = copy.deepcopy(tiny.model_dump())
    Q, _, _ = _chain_arrays(tiny)
    new = jg.whatif(tiny, jg.Reweight("shop", "ad", weight=8))
    # shop's weights: buy 5, ad 2 -> 8, rival 1, gone 2: total 16 (tiny.yaml)
    Q2, R2, _ = _chain_arrays(new)
    assert_allclose(Q2, [[0, 0.6], [8 / 16, 0]], rtol=1e-15)
    assert_allclose(R2, [[0, 0.4, 0], [5 / 16, 2 / 16, 1 / 16]], rtol=1e-15)
    scaled = jg.whatif(tiny, jg.Reweight("shop", "ad", scale=4))
    assert_allclose(_chain_arrays(scaled)[0], Q2, rtol=1e-15)
    assert tiny.model_dump() == before  # never mutated
    assert new is not tiny and new.metadata["whatif"] == [
        {"edit": "Reweight", "source": "shop", "target": "ad", "weight": 8, "scale": None}
    ]
    assert_allclose(Q, [[0, 0.6], [0.2, 0]])


def test_cut_move_renormalises_the_row(tiny: jg.JourneyMap) -> None:
    Q, R, _ = _chain_arrays(tiny)
    new = jg.whatif(tiny, jg.CutMove("shop", "ad"))
    Qh, Rh = Q.copy(), R.copy()
    Qh[1, 0] = 0
    keep = 1 - Q[1, 0]
    Qh[1] /= keep
    Rh[1] /= keep
    Q2, R2, _ = _chain_arrays(new)
    assert_allclose(Q2, Qh, rtol=1e-15)
    assert_allclose(R2, Rh, rtol=1e-15)


def test_add_move(tiny: jg.JourneyMap) -> None:
    new = jg.whatif(tiny, jg.AddMove("ad", "buy", 10, duration={"mean": 2, "unit": "hour"}))
    Q2, R2, _ = _chain_arrays(new)
    # ad: shop 6, gone 4, buy 10 -> total 20
    assert_allclose(Q2[0], [0, 6 / 20])
    assert_allclose(R2[0], [10 / 20, 4 / 20, 0])
    step = to_chain(new).step_hours
    assert step is not None
    assert_allclose(step, [0.5 * 2, 0.0])


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_reduce_churn_matches_hand_edit_resolve_and_sherman_morrison(
    seed: int, fraction: float
) -> None:
    jm = random_map(seed, 25, competitors=2)
    d = dense(jm)
    churn = _churn_columns(jm)
    conv = np.array([o.kind == "conversion" for o in jm.outcomes])
    i = 5
    tp = d.touchpoints[i]
    new = jg.whatif(jm, jg.ReduceChurn(tp, fraction))

    # hand edit of row i: churn entries x (1-f); the rest x (1 + f c / (1 - c))
    c = d.R[i, churn].sum()
    Qh, Rh = d.Q.copy(), d.R.copy()
    grow = 1 + fraction * c / (1 - c)
    Qh[i] *= grow
    Rh[i, ~churn] *= grow
    Rh[i, churn] *= 1 - fraction
    Q2, R2, entry2 = _chain_arrays(new)
    assert_allclose(Q2, Qh, rtol=1e-13, atol=1e-16)
    assert_allclose(R2, Rh, rtol=1e-13, atol=1e-16)
    assert_allclose(entry2, d.entry)

    # dense re-solve of the hand-edited chain vs the edited map
    B_hand = _solve(Qh, Rh)
    conversion = d.entry @ B_hand[:, conv].sum(axis=1)
    assert_allclose(d.entry @ _solve(Q2, R2)[:, conv].sum(axis=1), conversion, rtol=1e-12)

    # Sherman–Morrison: I - Q' = (I - Q) - e_i dᵀ with d = Q'_i - Q_i
    delta = Qh[i] - d.Q[i]
    Ne = d.N[:, i]
    N_new = d.N + np.outer(Ne, delta @ d.N) / (1 - delta @ Ne)
    B_sm = N_new @ Rh
    assert_allclose(B_sm, _solve(Q2, R2), rtol=1e-11, atol=1e-14)
    if fraction > 0:
        assert conversion > d.entry @ d.B[:, conv].sum(axis=1)


def test_reduce_churn_keeps_total_weight_and_durations() -> None:
    jm = random_map(2, 10, durations=True)
    tp = "t3"
    new = jg.whatif(jm, jg.ReduceChurn(tp, 0.5))
    old_moves = {(m.source, m.target): m for m in jm.moves}
    assert sum(m.weight for m in new.moves_from(tp)) == pytest.approx(
        sum(m.weight for m in jm.moves_from(tp)), rel=1e-14
    )
    for m in new.moves:
        assert m.duration == old_moves[(m.source, m.target)].duration
        if m.source != tp:
            assert m.weight == old_moves[(m.source, m.target)].weight


@pytest.mark.parametrize("seed", [0, 3])
def test_remove_touchpoint_churn_equals_the_removal_effect(seed: int) -> None:
    jm = random_map(seed, 20, competitors=2)
    d = dense(jm)
    conv = d.outcomes.index("win")
    for k in (0, 2, 7):  # an entry touchpoint and two others
        tp = d.touchpoints[k]
        with warnings.catch_warnings():
            # removing t_k may leave t_k+1 unreachable: allowed (visits 0), so not checked
            warnings.simplefilter("ignore", jg.JourneyGraphWarning)
            new = jg.whatif(jm, jg.RemoveTouchpoint(tp))
        # removal effect (DESIGN.md): per original entrant
        h = (d.entry @ d.N[:, k]) / d.N[k, k]
        p_without = d.entry @ d.B[:, conv] - h * d.B[k, conv]
        nd = dense(new)
        share = d.entry[k]
        assert_allclose((1 - share) * nd.outcome_probabilities[conv], p_without, rtol=1e-11)

        # and the chain is the hand edit: column k's mass goes to the first churn outcome
        keep = [i for i in range(len(d.touchpoints)) if i != k]
        Qh = d.Q[np.ix_(keep, keep)]
        Rh = d.R[keep].copy()
        Rh[:, d.outcomes.index("lost")] += d.Q[keep, k]
        assert_allclose(nd.Q, Qh, rtol=1e-13, atol=1e-16)
        assert_allclose(nd.R, Rh, rtol=1e-13, atol=1e-16)
        assert tp not in nd.touchpoints


def test_remove_touchpoint_drop_and_redirect(tiny: jg.JourneyMap) -> None:
    # drop: shop's move to ad disappears and shop renormalises (buy 5, rival 1, gone 2)
    new = jg.whatif(tiny, jg.RemoveTouchpoint("ad", redirect="drop"))
    Q2, R2, entry = _chain_arrays(new)
    assert_allclose(Q2, [[0]])
    assert_allclose(R2, [[5 / 8, 2 / 8, 1 / 8]])
    assert_allclose(entry, [1.0])
    # redirect to a competitor: shop -> ad (2) becomes shop -> rival (1 + 2)
    new = jg.whatif(tiny, jg.RemoveTouchpoint("ad", redirect="rival"))
    assert {(m.target, m.weight) for m in new.moves_from("shop")} == {
        ("buy", 5.0),
        ("rival", 3.0),
        ("gone", 2.0),
    }


def test_remove_touchpoint_merges_durations_keeping_expected_step_time() -> None:
    jm = jg.JourneyMap(
        name="timed",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}, {"id": "b", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}, {"id": "lost", "kind": "churn"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "b", "weight": 3, "duration": {"mean": 2, "unit": "day"}},
            {"from": "a", "to": "lost", "weight": 1, "duration": {"mean": 4, "unit": "hour"}},
            {"from": "a", "to": "win", "weight": 1},
            {"from": "b", "to": "win", "weight": 1},
        ],
    )
    before = to_chain(jm).step_hours
    new = jg.whatif(jm, jg.RemoveTouchpoint("b"))
    after = to_chain(new).step_hours
    assert before is not None and after is not None
    # a's expected next-move time: (3*48 + 1*4 + 1*0)/5 h, unchanged by the merge
    assert_allclose(after, [before[0]], rtol=1e-14)
    assert_allclose(after, [(3 * 48 + 4) / 5], rtol=1e-14)
    lost = next(m for m in new.moves if m.target == "lost")
    assert lost.weight == 4


def test_remove_touchpoint_without_churn_outcome_adds_one() -> None:
    jm = jg.JourneyMap(
        name="no churn",
        stages=[{"id": "s"}],
        touchpoints=[{"id": "a", "stage": "s"}, {"id": "lost", "stage": "s"}],
        outcomes=[{"id": "win", "kind": "conversion"}],
        entry={"a": 1},
        moves=[
            {"from": "a", "to": "lost", "weight": 1},
            {"from": "a", "to": "win", "weight": 1},
            {"from": "lost", "to": "win", "weight": 1},
        ],
    )
    new = jg.whatif(jm, jg.RemoveTouchpoint("lost"))
    # the id 'lost' is taken by a touchpoint, so the new churn outcome is 'lost_2'
    assert [(o.id, o.kind) for o in new.outcomes] == [("win", "conversion"), ("lost_2", "churn")]
    assert_allclose(dense(new).outcome_probabilities, [0.5, 0.5])


def test_add_touchpoint(tiny: jg.JourneyMap) -> None:
    new = jg.whatif(
        tiny,
        jg.AddTouchpoint(
            {"id": "chat", "stage": "act", "channel": "web"},
            moves=[
                {"from": "shop", "to": "chat", "weight": 2},
                {"from": "chat", "to": "buy", "weight": 3},
                {"from": "chat", "to": "gone", "weight": 1},
            ],
            entry=1,
        ),
    )
    Q2, R2, entry = _chain_arrays(new)
    # shop: buy 5, ad 2, rival 1, gone 2, chat 2 -> 12; entry ad 3, shop 1, chat 1
    assert_allclose(Q2, [[0, 0.6, 0], [2 / 12, 0, 2 / 12], [0, 0, 0]], rtol=1e-15)
    assert_allclose(R2, [[0, 0.4, 0], [5 / 12, 2 / 12, 1 / 12], [0.75, 0.25, 0]], rtol=1e-15)
    assert_allclose(entry, [0.6, 0.2, 0.2])
    assert new.touchpoint("chat").channel == "web"
    note = new.metadata["whatif"]
    assert isinstance(note, list) and note[0]["edit"] == "AddTouchpoint"  # type: ignore[index,call-overload]


def test_edits_apply_in_order_and_notes_accumulate(tiny: jg.JourneyMap) -> None:
    first = jg.whatif(tiny, jg.ReduceChurn("shop", 0.5))
    second = jg.whatif(first, jg.CutMove("shop", "ad"), jg.Reweight("ad", "gone", scale=0.5))
    notes = second.metadata["whatif"]
    assert isinstance(notes, list)
    assert [n["edit"] for n in notes] == ["ReduceChurn", "CutMove", "Reweight"]  # type: ignore[index,call-overload]
    # one call with all three edits gives the same map
    once = jg.whatif(
        tiny,
        jg.ReduceChurn("shop", 0.5),
        jg.CutMove("shop", "ad"),
        jg.Reweight("ad", "gone", scale=0.5),
    )
    assert once == second


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: jg.ReduceChurn("shop", 1.5), r"ReduceChurn\(touchpoint='shop'.*between 0 and 1"),
        (lambda: jg.ReduceChurn("shop", -0.1), "fraction must be a finite number between 0 and 1"),
        (lambda: jg.ReduceChurn("shop", float("nan")), "fraction must be a finite number"),
        (lambda: jg.ReduceChurn("shop", True), "fraction must be a number"),
        (lambda: jg.Reweight("shop", "ad"), "exactly one of weight= or scale="),
        (lambda: jg.Reweight("shop", "ad", weight=-1), "weight must be a finite number >= 0"),
        (lambda: jg.AddMove("a", "b", 1, duration={"mean": -1}), "bad duration"),
        (lambda: jg.AddTouchpoint({"id": "x"}), r"AddTouchpoint.*stage"),
        (
            lambda: jg.AddTouchpoint(
                {"id": "x", "stage": "act"}, [{"from": "ad", "to": "shop", "weight": 1}]
            ),
            "does not start or end at 'x'",
        ),
    ],
)
def test_invalid_edit_values_raise_map_error_naming_the_edit(make: object, match: str) -> None:
    with pytest.raises(jg.MapError, match=match):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (jg.ReduceChurn("shpo", 0.1), r"ReduceChurn\(touchpoint='shpo'.*did you mean 'shop'"),
        (jg.CutMove("shop", "by"), r"CutMove.*no move 'shop' -> 'by'.*did you mean 'buy'"),
        (jg.Reweight("ad", "buy", weight=1), "no move 'ad' -> 'buy'"),
        (jg.AddMove("ad", "shop", 1), "already exists; change it with Reweight"),
        (jg.AddMove("ad", "shpo", 1), "unknown target 'shpo'"),
        (jg.RemoveTouchpoint("ad", redirect="rivl"), "did you mean 'rival'"),
        (jg.AddTouchpoint({"id": "ad", "stage": "act"}), "'ad' is already used"),
        (jg.AddTouchpoint({"id": "x", "stage": "ac"}), "unknown stage 'ac'"),
    ],
)
def test_invalid_edits_against_the_map(tiny: jg.JourneyMap, edit: jg.Edit, match: str) -> None:
    with pytest.raises(jg.MapError, match=match):
        jg.whatif(tiny, edit)


def test_edits_that_break_the_map_are_refused(tiny: jg.JourneyMap) -> None:
    with pytest.raises(jg.MapError, match="no way out"):
        jg.whatif(tiny, jg.CutMove("ad", "shop"), jg.CutMove("ad", "gone"))
    with pytest.raises(jg.MapError, match="has no move to a churn outcome"):
        jg.whatif(tiny, jg.CutMove("shop", "gone"), jg.ReduceChurn("shop", 0.5))
    only_churn = jg.whatif(tiny, jg.CutMove("ad", "shop"))
    with pytest.raises(jg.MapError, match="every move from 'ad' goes to churn"):
        jg.whatif(only_churn, jg.ReduceChurn("ad", 0.5))
    with pytest.raises(jg.MapError, match="every journey starts at 'ad'"):
        jg.whatif(tiny, jg.RemoveTouchpoint("shop", redirect="drop"), jg.RemoveTouchpoint("ad"))
    with pytest.raises(jg.NotAbsorbingError, match=r"after what-if edits .*'ad', 'shop'"):
        jg.whatif(
            tiny,
            jg.CutMove("ad", "gone"),
            jg.CutMove("shop", "buy"),
            jg.CutMove("shop", "rival"),
            jg.CutMove("shop", "gone"),
        )
    with pytest.raises(jg.MapError, match="is not an edit"):
        jg.whatif(tiny, "cut ad")  # type: ignore[arg-type]
