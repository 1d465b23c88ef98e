"""The official MCP conformance suite (npm) against a fresh `reelcart serve`.

Its summary lines are printed at the end of the pytest run (see tests/conftest.py).
"""

import pytest

from scripts.mcp_conformance import APPLICABLE, run_conformance, write_summary


@pytest.mark.xdist_group("mcp-conformance")
def test_official_mcp_conformance_suite() -> None:
    ok, lines = run_conformance()
    write_summary(lines)
    assert ok, "\n".join(lines)
    # Each applicable scenario ran (and passed) for the newest spec version the suite knows.
    newest = [line for line in lines if " PASS " in line and "2025-11-25" in line]
    assert {line.rsplit(" ", 1)[-1] for line in newest} == set(APPLICABLE)
