"""Import every model module so that ``Base.metadata`` is complete (Alembic, tests)."""

from yibao.accounts import models as accounts_models
from yibao.analysis import models as analysis_models
from yibao.audit import models as audit_models
from yibao.benefits import models as benefits_models
from yibao.cases import models as cases_models
from yibao.catalogue import models as catalogue_models
from yibao.db.base import Base
from yibao.dip import models as dip_models
from yibao.exchange import models as exchange_models
from yibao.grouping import models as grouping_models
from yibao.insured import models as insured_models
from yibao.jobs import models as jobs_models
from yibao.maps import models as maps_models
from yibao.measurement import models as measurement_models
from yibao.messages import models as messages_models
from yibao.monitoring import models as monitoring_models
from yibao.regions import models as regions_models
from yibao.settlement import models as settlement_models
from yibao.supervision import models as supervision_models
from yibao.supervision.findings import models as findings_models
from yibao.supervision.realtime import models as realtime_audit_models

__all__ = [
    "Base",
    "accounts_models",
    "analysis_models",
    "audit_models",
    "benefits_models",
    "cases_models",
    "catalogue_models",
    "dip_models",
    "exchange_models",
    "findings_models",
    "grouping_models",
    "insured_models",
    "jobs_models",
    "maps_models",
    "measurement_models",
    "messages_models",
    "monitoring_models",
    "realtime_audit_models",
    "regions_models",
    "settlement_models",
    "supervision_models",
]
