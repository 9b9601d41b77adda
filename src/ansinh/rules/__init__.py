"""Rules as code: the one place where the law lives.

- ``parameters/``: every legal figure as YAML, with the date it takes effect and its legal reference
  (OpenFisca's shape); loaded and validated by :mod:`ansinh.rules.parameters`.
- One module per calculation (``contributions``, ``voluntary``, ...): pure functions over Polars columns,
  with a single-case wrapper that runs the same code. No database, no clock: every answer is "as of" a date
  given by the caller.
- :mod:`ansinh.rules.calculator` registers each calculation once; the CLI (``ansinh calc``) and the API
  (``/api/v1/calc/...``) are generated from that registry.
"""
