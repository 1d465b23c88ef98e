"""Footage engines: ``base.py`` (the seam), ``motion.py`` (CPU), ``diffusion/`` (GPU),
``registry.py`` (one warm instance per engine and process)."""
