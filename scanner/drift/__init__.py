"""Baseline drift: what changed between two snapshots, and what each change admits.

- ``comparison``: ``compare(baseline, current)``, the drift items, each mapped to T1562.007.
- ``changes``: the rule, rule-set and attachment changes between two versions of the rule sets.
- ``classify``: the traffic algebra that says whether a change widens, narrows or is neutral.
- ``describe``: the sentence and severity for what a change opened.
- ``accept``: a baseline with chosen drift items accepted into it.
"""
