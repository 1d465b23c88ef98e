"""The quality gate's verdict: one result per rule, and the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "QualityReport", "qa_markdown"]


@dataclass(frozen=True)
class Check:
    """One rule's result: ``passed``, a sentence saying why, and what was measured."""

    name: str
    passed: bool
    detail: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "measured": self.measured,
        }


@dataclass(frozen=True)
class QualityReport:
    """Every rule's result; the creative passes only when all of them do."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def check(self, name: str) -> Check:
        """The result of rule ``name`` (``KeyError`` when the gate did not run it)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in the manifest under ``"qa"`` and shown as a flow artifact."""
        return {
            "passed": self.passed,
            "failed": [check.name for check in self.failures],
            "checks": [check.to_dict() for check in self.checks],
        }

    def to_markdown(self) -> str:
        """A short table for people (the Prefect artifact of a render)."""
        return qa_markdown(self.to_dict())


def qa_markdown(qa: dict[str, Any] | None) -> str:
    """The stored report (a manifest's ``"qa"``) as a short Markdown table for people."""
    if not qa:
        return "Quality gate: no report (rendered before the gate existed)\n"
    rows = ["| rule | result | detail |", "|---|---|---|"]
    for check in qa.get("checks", []):
        verdict = "pass" if check.get("passed") else "**FAIL**"
        detail = str(check.get("detail", "")).replace("|", "/")
        rows.append(f"| {check.get('name')} | {verdict} | {detail} |")
    head = "Quality gate: **passed**" if qa.get("passed") else "Quality gate: **FAILED**"
    return head + "\n\n" + "\n".join(rows) + "\n"
