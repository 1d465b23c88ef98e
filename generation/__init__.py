"""Video generation: a creative job in, an MP4 with its manifest out; no database, no network.

- ``spec.py``, ``platforms.py``, ``plan_levels.py``: what to render, on which formats
- ``storyboard.py``, ``adcopy.py``, ``brand.py``: the script from catalog facts and the brand kit
- ``engines/``: where footage comes from (``motion`` on the CPU, ``diffusion/`` on a GPU)
- ``footage.py``, ``reframe.py``, ``prefetch.py``: each shot generated once, reframed per aspect
- ``overlays/``: text that fits, placed around the product, and the caption files
- ``compose.py``, ``yuv.py``, ``audio.py``, ``encode.py``: compositing, sound and H.264
- ``quality/``: the gate every render passes; ``provenance.py``: C2PA credentials
- ``render.py``, ``jobs.py``: one creative rendered, or skipped when it already exists
- ``preview.py``, ``contact_sheet.py``: pictures of what was made
"""
