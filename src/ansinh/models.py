"""Every domain's tables, imported so that ``Base.metadata`` is complete (Alembic, tests).

A new domain adds its ``models`` module here.
"""

from ansinh.audit import models as audit_models  # noqa: F401
from ansinh.auth import models as auth_models  # noqa: F401
from ansinh.auth.reset import models as reset_models  # noqa: F401
from ansinh.auth.second_factor import models as second_factor_models  # noqa: F401
from ansinh.benefits import models as benefits_models  # noqa: F401
from ansinh.benefits.payments import models as benefit_payment_models  # noqa: F401
from ansinh.cards import models as cards_models  # noqa: F401
from ansinh.claims import models as claims_models  # noqa: F401
from ansinh.claims.appraisal import models as appraisal_models  # noqa: F401
from ansinh.claims.budgets import models as budget_models  # noqa: F401
from ansinh.claims.prices import models as price_models  # noqa: F401
from ansinh.claims.settlement import models as settlement_models  # noqa: F401
from ansinh.collection import models as collection_models  # noqa: F401
from ansinh.notices import models as notice_models  # noqa: F401
from ansinh.outreach import models as outreach_models  # noqa: F401
from ansinh.db import Base
from ansinh import idempotency as idempotency_models  # noqa: F401
from ansinh.jobs import models as job_models  # noqa: F401
from ansinh.participation import models as participation_models  # noqa: F401
from ansinh.portal.employer import models as employer_portal_models  # noqa: F401
from ansinh.registry import models as registry_models  # noqa: F401
from ansinh.registry.corrections import models as correction_models  # noqa: F401
from ansinh.targets import models as targets_models  # noqa: F401

metadata = Base.metadata
