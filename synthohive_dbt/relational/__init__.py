"""Train and sample many tables in topological order: keys, foreign keys, constraints, one artifact.

The engine class is `synthohive_dbt.relational.synthesizer.Synthesizer`; the public one exported by the package
root (`synthohive_dbt.report.synthesizer.Synthesizer`) is the same class measured from above (report/).
This package init stays import-free so the light modules (keys, cardinality) load without the model stack.
"""
