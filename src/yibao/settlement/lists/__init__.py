"""Stored settlement lists as the API reads them: :mod:`.endpoints` (a page of lists,
one list with its findings and payment; not imported here).  The list pages' queries
are still :mod:`yibao.settlement.repository`."""
