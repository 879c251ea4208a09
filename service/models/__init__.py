"""ORM models: one module per concern; importing this package registers every table."""

from service.models.admin_divisions import AdminDivision
from service.models.audit import AuditEntry, User
from service.models.base import Base
from service.models.cases import Case, CaseEvent, CaseFile
from service.models.catalogue import LayerEntry
from service.models.data_version import DataVersion, DataVersionPending
from service.models.evaluations import Evaluation, EvaluationFile
from service.models.evidence import EvidenceFile
from service.models.layer_loads import layer_loads
from service.models.layers import (
    LAYER_MODELS,
    DemoZone,
    District,
    GreenHeartZone,
    QingshuitangArea,
    Road,
    SewagePlant,
    Site,
    Stream,
)
from service.models.milestones import TaskMilestone
from service.models.plans import Plan, ProgressReport, Project, ProjectLocation
from service.models.project_districts import ProjectDistrict
from service.models.published_layers import (
    LayerJob,
    LayerRules,
    LayerVersion,
    layer_feature_archive,
    screening_zone_parts_archive,
)
from service.models.rate_limits import rate_limit_counts
from service.models.screening import ProjectScreeningCategory, Screening, ScreeningZonePart
from service.models.secrets import AppSecret
from service.models.staged_uploads import StagedUpload
from service.models.units import ProjectUnit, Unit, UnitAlias, UnitGroup, UnitGroupMember
from service.models.web_sessions import WebSession

__all__ = [
    "LAYER_MODELS",
    "AdminDivision",
    "AppSecret",
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "CaseFile",
    "DataVersion",
    "DataVersionPending",
    "DemoZone",
    "District",
    "Evaluation",
    "EvaluationFile",
    "EvidenceFile",
    "GreenHeartZone",
    "LayerEntry",
    "LayerJob",
    "LayerRules",
    "LayerVersion",
    "Plan",
    "ProgressReport",
    "Project",
    "ProjectDistrict",
    "ProjectLocation",
    "ProjectScreeningCategory",
    "ProjectUnit",
    "QingshuitangArea",
    "Road",
    "Screening",
    "ScreeningZonePart",
    "SewagePlant",
    "Site",
    "StagedUpload",
    "Stream",
    "TaskMilestone",
    "Unit",
    "UnitAlias",
    "UnitGroup",
    "UnitGroupMember",
    "User",
    "WebSession",
    "layer_feature_archive",
    "layer_loads",
    "rate_limit_counts",
    "screening_zone_parts_archive",
]
