"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from ..db import Base
from . import search, sync  # noqa: F401  (sync tables; the text-search index of open cases)
from .assessment import AssessmentAdjustment, AssessmentMonth, AssessmentScore
from .cases import Case, CaseEvent, CasePhoto, CaseReporter, Supervision
from .city import Area, Category, CityRevision, Department, GridCell, RoutingRule
from .login_failures import LoginFailure
from .open311 import ApiKey, Open311Contact
from .people import DeviceToken, OtpCode, User
from .photos import Photo, PhotoUpload

__all__ = [
    "ApiKey",
    "AssessmentAdjustment",
    "AssessmentMonth",
    "AssessmentScore",
    "Area",
    "Base",
    "Case",
    "CaseEvent",
    "CasePhoto",
    "CaseReporter",
    "Category",
    "CityRevision",
    "Department",
    "DeviceToken",
    "GridCell",
    "LoginFailure",
    "Open311Contact",
    "OtpCode",
    "Photo",
    "PhotoUpload",
    "RoutingRule",
    "Supervision",
    "User",
]
