"""Which video sells: events in, statistics, decisions and allocation out.

- ``campaigns.py``, ``campaign_index.py``, ``plan_coverage.py``, ``generations.py``: campaigns,
  their creatives and the render queue
- ``events.py``, ``tracking.py``: what shoppers did, deduplicated and attributed
- ``metrics.py``, ``samples.py``: per-creative metrics by SQL aggregation
- ``stats_bayes.py``, ``stats_freq.py``, ``srm.py``, ``corrections.py``, ``pooled.py``: statistics
- ``decisions.py``, ``factor_effects.py``, ``factor_actions.py``: what the evidence decides
- ``bandit.py``, ``allocation.py``: which creative the next shopper sees
- ``evaluation.py``, ``report_data.py``: one evaluation of a campaign
- ``reports.py``, ``headlines.py``, ``exports.py``, ``charts.py``: the report, in words and pictures
- ``sandbox.py``: a sandbox copy of a campaign for simulated shoppers
"""
