"""Enumerations shared by server, sync engine and app.

Glossary (Chinese term → name in code):
市民 citizen · 信息采集监督员/城管队员 inspector · 沿街商户 merchant ·
指挥中心受理员/派遣员 dispatcher ·
专业部门/处置单位 handler (department handler) · 立案 register · 不予立案 reject · 派遣 dispatch ·
处置 handle · 回退 return · 核实 verify · 核查 check · 返工 rework · 结案 close · 督办 supervise ·
部件 component · 事件 event · 单元网格 grid cell · 责任单位 department · 时限 deadline.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    INSPECTOR = "inspector"
    MERCHANT = "merchant"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.INSPECTOR, Role.DISPATCHER, Role.HANDLER, Role.ADMIN})
PHONE_ROLES = frozenset({Role.CITIZEN, Role.MERCHANT})


class CaseState(StrEnum):
    REPORTED = "reported"
    VERIFYING = "verifying"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    HANDLING = "handling"
    RETURNED = "returned"
    HANDLED = "handled"
    CHECKING = "checking"
    REWORK = "rework"
    CLOSED = "closed"
    MERGED = "merged"


FINAL_STATES = frozenset({CaseState.REJECTED, CaseState.CLOSED, CaseState.MERGED})
OPEN_STATES = frozenset(set(CaseState) - FINAL_STATES)


class CaseSource(StrEnum):
    CITIZEN = "citizen"
    INSPECTOR = "inspector"
    HOTLINE = "hotline"  # 12345 市民热线
    FRONTAGE = "frontage"  # 门前三包 escalation
    TOILET = "toilet"  # 公厕 feedback
    OPEN311 = "open311"


class Step(StrEnum):
    """The step a case is waiting on; each has its own deadline (时限)."""

    VERIFY = "verify"
    REGISTER = "register"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    CHECK = "check"


STEP_OF_STATE: dict[CaseState, Step] = {
    CaseState.REPORTED: Step.REGISTER,
    CaseState.VERIFYING: Step.VERIFY,
    CaseState.REGISTERED: Step.DISPATCH,
    CaseState.RETURNED: Step.DISPATCH,
    CaseState.DISPATCHED: Step.HANDLE,
    CaseState.HANDLING: Step.HANDLE,
    CaseState.REWORK: Step.HANDLE,
    CaseState.HANDLED: Step.CHECK,
    CaseState.CHECKING: Step.CHECK,
}


class CategoryKind(StrEnum):
    COMPONENT = "component"  # 部件
    EVENT = "event"  # 事件


class TimeUnit(StrEnum):
    WORKING = "working"  # 工作时
    CALENDAR = "calendar"  # 自然时


class Light(StrEnum):
    """Traffic light of an open case: share of the current step's time used."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class PhotoKind(StrEnum):
    REPORT = "report"
    VERIFY = "verify"
    BEFORE = "before"
    AFTER = "after"
    CHECK = "check"


class CoordSystem(StrEnum):
    WGS84 = "wgs84"  # GPS, OpenStreetMap
    GCJ02 = "gcj02"  # Amap, Tencent
    BD09 = "bd09"  # Baidu
