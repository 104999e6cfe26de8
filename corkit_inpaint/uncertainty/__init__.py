"""The fill's per-pixel 1-sigma.

Modules: `features` (what a filled pixel's error depends on: radial zone,
distance to the hole edge, local noise and structure, whether a neighbouring frame has data
there), `tables` (the fitted error tables and the sigma they give, in the
image's unit), `fit` (how the tables are fitted on simulated holes) and
`probe` (the check of a fill's sigma on valid blocks of the same frame, blanked
and filled the same way, which rescales it) and `region` (the 1-sigma of a sum
over filled pixels, whose errors a hole shares).
"""

from .region import region_sigma
from .tables import ErrorTable, fill_sigma, load_tables, table_for, to_linear

__all__ = ["ErrorTable", "load_tables", "fill_sigma", "table_for", "to_linear", "region_sigma"]
