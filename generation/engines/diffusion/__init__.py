"""The GPU footage engine: product image-to-video with diffusers (LTX-Video, Wan).

- ``engine.py``: the engine itself (a shot in, frames out)
- ``presets.py``: named model presets and where their weights come from
- ``architectures.py``: the full-size hyper-parameters the checkpoints publish
- ``devices.py``: device, dtype and memory placement
- ``load.py``: a preset's pipeline loaded (plan, weights, placement, options)
- ``pipes.py``: the family-specific calls into diffusers pipelines
- ``two_pass.py``: the two-pass schedule of the step-distilled LTX-Video checkpoints
- ``speed.py``: opt-in speed options, decided once at load
- ``inputs.py``, ``frames.py``: what goes into a call, and native frames reshaped to a shot
- ``random_weights.py``: full-size pipelines with random weights, for offline checks
"""
