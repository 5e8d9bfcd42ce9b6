"""Train and sample many tables in topological order: keys, foreign keys, constraints, one artifact.

The public class is `synthohive_dbt.relational.synthesizer.Synthesizer` (exported by the package root).
This package init stays import-free so the light modules (keys, cardinality) load without the model stack.
"""
