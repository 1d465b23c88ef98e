"""Prefect flows and tasks: orchestration only; each task calls one plain function.

``catalog`` (sync), ``campaign`` (a whole run), ``generate`` + ``gpu`` + ``fanout`` (renders,
batched on GPUs and fanned out to workers), ``remix`` (challengers from a winner's footage),
``publish``, ``evaluate``, ``grow`` (the loop closed), ``reconcile`` (payments);
``common`` opens what every flow needs once per process.
"""
