"""Everything drawn over the footage: text that fits, placed around the product.

- ``plan.py``: the overlay plan of one creative (every text layer, sized and placed)
- ``parts.py``: the measured parts of a text group (title, price pill, AI label, captions)
- ``layout.py``: where overlays may go (safe area minus the product, or a letterbox band)
- ``layers.py``: pre-rendered layers and how they are placed
- ``text.py``, ``wrap.py``: fonts, fitting and drawing; balanced word wrapping
- ``captions.py``: caption sidecars (WebVTT and SRT)
"""
