"""The one pricing core: every amount of a cart, computed from the catalog, never the agent.

- ``rules.py``: the store's pricing rules as plain values
- ``discounts.py``: discount codes applied to a cart's lines
- ``shipping.py``: fulfilment options for a destination
- ``quote.py``: a whole cart priced (lines, discounts, shipping, tax, totals)
"""
