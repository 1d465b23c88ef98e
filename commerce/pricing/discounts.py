"""Discount codes applied to a cart's lines, in integer minor units.

Stacking order, as both specs describe it (UCP ``discount``: "lower priority numbers are
applied first", its example a percentage before a fixed amount): every percentage code,
in the order the buyer sent them, then every fixed amount. Each one is computed on what
the lines still cost after the ones before it, so ``20 %`` then ``$10`` off ``$100`` is
``$70``, and two percentages compound (10 % then 20 % of 3500 = 350 + 630). A percentage
is taken per line ("each", rounded half up per line); a fixed amount is spread over the
eligible lines in proportion to what they still cost ("across", largest remainder, so the
shares add up to the amount exactly). No discount takes a line below zero.

A code that cannot apply is not an error: it is returned as rejected with the reason code
both specs share, and the door reports it as a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reelcart.models.base import as_utc

from .rules import DiscountKind, DiscountRule

__all__ = ["AppliedDiscount", "RejectReason", "RejectedDiscount", "apply_discounts", "half_up"]

RejectReason = Literal[
    "discount_code_invalid",
    "discount_code_expired",
    "discount_code_already_applied",
    "discount_code_combination_disallowed",
    "discount_code_minimum_not_met",
    "discount_code_usage_limit_reached",
]


def half_up(amount: int, bps: int) -> int:
    """``amount × bps / 10 000`` rounded half up (non-negative inputs)."""
    return (amount * bps + 5_000) // 10_000


@dataclass(frozen=True)
class AppliedDiscount:
    """A code that took money off; ``allocations`` are (line index, amount) pairs."""

    id: str
    code: str
    title: str
    kind: DiscountKind
    amount: int
    priority: int
    percent_bps: int
    amount_off: int
    allocations: tuple[tuple[int, int], ...]

    @property
    def method(self) -> Literal["each", "across"]:
        """UCP/ACP allocation method: per item for a percentage, spread for an amount."""
        return "each" if self.kind == "percentage" else "across"


@dataclass(frozen=True)
class RejectedDiscount:
    """A submitted code that was not applied; ``index`` is its place in the request."""

    code: str
    index: int
    reason: RejectReason
    message: str


@dataclass(frozen=True)
class _Candidate:
    index: int
    rule: DiscountRule
    eligible: tuple[int, ...]


def _spread(amount: int, eligible: Sequence[int], remaining: list[int]) -> list[tuple[int, int]]:
    """``amount`` over the eligible lines in proportion to ``remaining``, exactly."""
    weights = [remaining[i] for i in eligible]
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return []
    amount = min(amount, total)
    shares = [amount * w // total for w in weights]
    left = amount - sum(shares)
    # Largest remainders first; ties go to the earlier line, so the result is stable.
    order = sorted(range(len(weights)), key=lambda k: (-(amount * weights[k] % total), k))
    for k in order[:left]:
        shares[k] += 1
    return [(eligible[k], shares[k]) for k in range(len(weights)) if shares[k]]


def _check(
    rule: DiscountRule | None,
    raw: str,
    index: int,
    base: Sequence[int],
    product_ids: Sequence[str],
    now: datetime,
) -> _Candidate | RejectedDiscount:
    def reject(reason: RejectReason, why: str) -> RejectedDiscount:
        return RejectedDiscount(raw, index, reason, f"Code {raw!r} {why}.")

    if rule is None or not rule.active:
        return reject("discount_code_invalid", "is not a valid discount code")
    if rule.starts_at is not None and now < as_utc(rule.starts_at):
        return reject("discount_code_invalid", "is not active yet")
    if rule.ends_at is not None and now >= as_utc(rule.ends_at):
        return reject("discount_code_expired", "has expired")
    if rule.usage_limit is not None and rule.times_used >= rule.usage_limit:
        return reject("discount_code_usage_limit_reached", "has been used up")
    eligible = tuple(
        i
        for i, pid in enumerate(product_ids)
        if rule.product_ids is None or pid in rule.product_ids
    )
    if not eligible:
        return reject("discount_code_invalid", "applies to none of these items")
    minimum = rule.min_subtotal_minor
    if minimum is not None and sum(base[i] for i in eligible) < minimum:
        return reject("discount_code_minimum_not_met", "needs a larger order")
    return _Candidate(index, rule, eligible)


def apply_discounts(
    codes: Sequence[str],
    rules: dict[str, DiscountRule],
    base: Sequence[int],
    product_ids: Sequence[str],
    now: datetime,
) -> tuple[list[int], list[AppliedDiscount], list[RejectedDiscount]]:
    """Per-line discount amounts, the applied codes and the rejected ones.

    ``base`` is each line's undiscounted amount, ``product_ids`` each line's product.
    """
    rejected: list[RejectedDiscount] = []
    accepted: list[_Candidate] = []
    seen: set[str] = set()
    for index, raw in enumerate(codes):
        key = raw.strip().upper()
        if key in seen:
            rejected.append(
                RejectedDiscount(
                    raw, index, "discount_code_already_applied", f"Code {raw!r} is already applied."
                )
            )
            continue
        seen.add(key)
        checked = _check(rules.get(key), raw, index, base, product_ids, now)
        if isinstance(checked, RejectedDiscount):
            rejected.append(checked)
        elif accepted and (
            not checked.rule.stackable or any(not c.rule.stackable for c in accepted)
        ):
            # The first code the buyer sent wins; a later one that cannot combine is refused.
            rejected.append(
                RejectedDiscount(
                    raw,
                    index,
                    "discount_code_combination_disallowed",
                    f"Code {raw!r} cannot be combined with the other codes.",
                )
            )
        else:
            accepted.append(checked)
    remaining = list(base)
    per_line = [0] * len(base)
    applied: list[AppliedDiscount] = []
    ordered = sorted(accepted, key=lambda c: (c.rule.kind != "percentage", c.index))
    for priority, candidate in enumerate(ordered, start=1):
        rule = candidate.rule
        if rule.kind == "percentage":
            shares = [
                (i, min(remaining[i], half_up(remaining[i], rule.percent_bps)))
                for i in candidate.eligible
            ]
            shares = [(i, s) for i, s in shares if s]
        else:
            shares = _spread(rule.amount_minor, candidate.eligible, remaining)
        for i, share in shares:
            remaining[i] -= share
            per_line[i] += share
        applied.append(
            AppliedDiscount(
                id=rule.id,
                code=rule.code,
                title=rule.title,
                kind=rule.kind,
                amount=sum(s for _, s in shares),
                priority=priority,
                percent_bps=rule.percent_bps,
                amount_off=rule.amount_minor,
                allocations=tuple(shares),
            )
        )
    rejected.sort(key=lambda r: r.index)
    return per_line, applied, rejected
