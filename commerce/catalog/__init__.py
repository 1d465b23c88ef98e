"""The catalog: products in the app database, found, shown and fed to agent platforms.

- ``store.py``: sync a catalog snapshot in, read products back
- ``version.py``: which catalog version the database holds (what caches key on)
- ``product_text.py``: a product's plain text, for people and for search
- ``embeddings.py``: search embeddings computed at sync
- ``keywords.py``, ``search.py``: search by keywords, and by meaning over the embeddings
- ``product_views.py``, ``showcase.py``: what agents see of a product, and the creative
  a shopper is shown (chosen by allocation, the impression counted)
- ``feed.py``: the product feed for agent platforms
"""
