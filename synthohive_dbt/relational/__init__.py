"""Train and sample many tables in topological order: keys, foreign keys, constraints, one artifact.

The engine class is `relational.synthesizer.Synthesizer`; the public `Synthesizer` exported by the package root
is the same class, measured from the layer above. This package init stays import-free so the light modules
(keys, cardinality) load without the model stack.
"""
