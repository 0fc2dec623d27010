"""Monthly statements (月度结算单): a period's statement per hospital, derived from the
stored confirmations on each request and never stored.

The package: :mod:`.repository` (the confirmed cases of some periods and the version
of a period's confirmations), :mod:`.service` (statements as a user may see them, kept
for a while under that version, and the year-end clearing computation), :mod:`.pdf`
(a statement as a one-page PDF in Chinese) and :mod:`.endpoints` (the JSON API).
Callers import from the module they need; nothing is re-exported here.
"""
