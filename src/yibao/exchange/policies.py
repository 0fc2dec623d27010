"""The benefit policies a real-time settlement applies, kept in the process while
they do not change (a settlement must not parse every policy of the country).

The key of the cached set is what publishing changes: the number of usable policies,
their highest id and the latest publication time.  Publishing a new version (which
may close the earlier one) changes the key, so the next settlement reads them anew.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.benefits.models import StoredPolicy
from yibao.benefits.service import policy_set
from yibao.engines.settlement import PolicySet
from yibao.kit.cache import TTLCache

_SETS: TTLCache[PolicySet] = TTLCache(max_entries=4)
#: what publishing changes (built once)
_KEY = select(func.count(), func.max(StoredPolicy.id), func.max(StoredPolicy.published_at)).where(
    StoredPolicy.status != "draft"
)
_KEEP_S = 3600.0


def usable_policies(session: Session) -> PolicySet:
    """The published (and retired) policies, from the cache while unchanged."""
    key = session.connection().execute(_KEY).one()
    return _SETS.get(tuple(key), _KEEP_S, lambda: policy_set(session))
