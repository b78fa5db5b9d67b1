"""The batch side beyond one machine: embedding, indexing and classifying on Ray.

Optional: ``pip install 'triage[scale]'`` adds Ray; nothing here is imported by serving,
and ``ray`` is only ever imported inside a function (:func:`triage.scale.ray_engine.require_ray`),
so the base install and the serving image never need it. Each step also runs in one
process (``--engine local``), through the same per-batch functions, which is what the
equality tests compare the Ray path against.
"""
