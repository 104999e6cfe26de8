"""Evaluation: blank blocks that are really there, fill them with every method, score inside them.

Modules: `protocol` (which blocks are blanked and how each method is run),
`metrics` (the scores of one fill) and `report` (pooled summaries, bootstrap
intervals, tables and figures).
"""

__all__: list[str] = []
