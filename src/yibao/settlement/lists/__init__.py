"""Stored settlement lists as the API and the pages read them: :mod:`.repository` (a
page of lists with filters, counts by state, one list with everything its page shows)
and :mod:`.endpoints` (the JSON API; not imported here).  Lists arrive through the
intake (:mod:`yibao.settlement.intake`)."""
