from collections import Counter
from dataclasses import dataclass

from experiments.allocation import choose_sticky


@dataclass(frozen=True)
class Arm:
    id: str


ARMS = [Arm("a"), Arm("b"), Arm("c")]


def test_no_arms() -> None:
    assert choose_sticky([], "s", "p") is None


def test_sticky_and_independent_of_order() -> None:
    first = choose_sticky(ARMS, "shopper-1", "product-1")
    assert all(
        choose_sticky(list(reversed(ARMS)), "shopper-1", "product-1") == first for _ in range(5)
    )


def test_uniform_split_is_roughly_even() -> None:
    counts = Counter(choose_sticky(ARMS, f"s{i}", "p").id for i in range(6000))
    assert set(counts) == {"a", "b", "c"}
    assert all(1800 < n < 2200 for n in counts.values()), counts


def test_weights_shift_traffic_and_zero_weight_starves() -> None:
    counts = Counter(
        choose_sticky(ARMS, f"s{i}", "p", weights={"a": 0.8, "b": 0.2, "c": 0.0}).id
        for i in range(5000)
    )
    assert counts["c"] == 0
    assert 3800 < counts["a"] < 4200


def test_all_zero_weights_fall_back_to_uniform() -> None:
    counts = Counter(
        choose_sticky(ARMS, f"s{i}", "p", weights={"a": 0, "b": 0, "c": 0}).id for i in range(300)
    )
    assert set(counts) == {"a", "b", "c"}
