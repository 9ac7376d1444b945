"""The one error family of 城管通, with messages a citizen can read in Chinese and English.

Core code raises :class:`CgtError` subclasses with a stable ``code``; the HTTP edge and the
sync engine render them as ``{code, message, message_zh, errors}``. Messages live in one
catalogue so the server, the sync receipts and the app all say the same thing.
"""

from __future__ import annotations

from typing import Any

# code -> (English, Chinese); ``{name}`` placeholders are filled from the error's params.
MESSAGES: dict[str, tuple[str, str]] = {
    "bad_request": ("The request is not valid.", "请求无效。"),
    "validation_failed": ("Some fields are not valid.", "部分字段填写有误。"),
    "not_found": ("Not found.", "未找到。"),
    "case_not_found": ("This case does not exist or you may not see it.", "案件不存在或无权查看。"),
    "unauthorized": ("Please sign in.", "请先登录。"),
    "token_expired": (
        "Your session has expired; please sign in again.",
        "登录已过期，请重新登录。",
    ),
    "forbidden": ("You may not do this.", "您无权执行此操作。"),
    "bad_credentials": ("Wrong user name or password.", "用户名或密码错误。"),
    "account_disabled": ("This account is disabled.", "该账号已停用。"),
    "otp_invalid": ("The code is wrong or has expired.", "验证码错误或已过期。"),
    "otp_too_many_attempts": (
        "Too many wrong codes; please request a new one.",
        "验证码错误次数过多，请重新获取。",
    ),
    "login_too_many_attempts": (
        "Too many failed sign-ins; please wait {minutes} minutes and try again.",
        "登录失败次数过多，请等待{minutes}分钟后再试。",
    ),
    "otp_too_soon": (
        "Please wait {seconds} seconds before asking for another code.",
        "请在{seconds}秒后再获取验证码。",
    ),
    "wrong_state": (
        "The case is '{state}'; '{action}' is not possible now.",
        "案件当前状态为“{state_zh}”，无法执行“{action_zh}”。",
    ),
    "version_conflict": (
        "Someone else changed this case meanwhile (now version {current}); reload and try again.",
        "案件已被他人修改（当前版本{current}），请刷新后重试。",
    ),
    "evidence_required": ("A photo is required as evidence.", "需要上传照片作为证据。"),
    "reason_required": ("Please give a reason.", "请填写原因。"),
    "unknown_category": ("Unknown category '{category}'.", "未知的案件类别“{category}”。"),
    "unknown_department": ("Unknown department '{department}'.", "未知的责任单位“{department}”。"),
    "unknown_photo": (
        "Photo {sha256} has not been uploaded.",
        "照片{sha256}尚未上传。",
    ),
    "duplicate_id": (
        "A different record with this id already exists.",
        "已存在相同编号的其他记录。",
    ),
    "merge_invalid": ("These cases cannot be merged: {detail}.", "无法合并这些案件：{detail_zh}。"),
    "not_overdue": ("Only overdue cases can be supervised.", "只能督办已超时的案件。"),
    "not_dispatched": (
        "No unit holds this case yet: a 督办 note goes to the unit handling a case; dispatch it"
        " first.",
        "案件尚未派遣，没有承办单位：督办对象是承办单位，请先派遣。",
    ),
    "returned_to_desk": (
        "The unit returned this case to the command centre: a 督办 note goes to the unit"
        " handling a case; dispatch it again first.",
        "承办单位已将案件回退至指挥中心：督办对象是承办单位，请重新派遣后再督办。",
    ),
    "rating_window": ("This case can no longer be rated.", "该案件已不能评价。"),
    "already_rated": ("This case has already been rated.", "该案件已评价过。"),
    "reopen_window": (
        "The reopening period of {days} days has passed.",
        "已超过{days}天的重新办理期限。",
    ),
    "not_assigned": ("This task is not assigned to you.", "该任务未分派给您。"),
    "outside_city": ("The location is outside the city's grid.", "该位置不在本市网格范围内。"),
    "payload_too_large": ("The upload is too large.", "上传内容过大。"),
    "unsupported_media": (
        "Only JPEG, PNG and WebP photos are accepted.",
        "仅支持JPEG、PNG和WebP照片。",
    ),
    "hash_mismatch": (
        "The photo's content does not match its sha256.",
        "照片内容与其sha256校验值不符。",
    ),
    "too_many_pixels": (
        "The photo has too many pixels (at most {max_pixels}).",
        "照片像素过多（最多{max_pixels}像素）。",
    ),
    "upload_not_found": (
        "No unfinished upload of this photo; start it again.",
        "没有该照片未完成的上传，请重新开始上传。",
    ),
    "offset_mismatch": (
        "The server holds {offset} bytes of this photo; continue from there.",
        "服务器已收到该照片的{offset}字节，请从此处继续上传。",
    ),
    "chunk_corrupt": (
        "A part of the photo arrived damaged; please send it again.",
        "照片的一部分在传输中损坏，请重新发送。",
    ),
    "chunk_too_large": (
        "A part of an upload may have at most {max_bytes} bytes.",
        "每段上传内容最多{max_bytes}字节。",
    ),
    "too_many_uploads": (
        "Too many unfinished photo uploads (at most {limit}); finish or cancel some first.",
        "未完成的照片上传过多（最多{limit}个），请先完成或取消部分上传。",
    ),
    "photo_not_found": (
        "This photo does not exist or you may not see it.",
        "照片不存在或无权查看。",
    ),
    "rate_limited": ("Too many requests; please slow down.", "请求过于频繁，请稍后再试。"),
    "method_not_allowed": ("This method is not allowed here.", "不支持该请求方法。"),
    "unsupported_protocol": (
        "This version of the app can no longer sync; please update the app.",
        "当前版本的应用已无法同步，请更新应用。",
    ),
    "unknown_mutation": (
        "The server does not know the action '{name}'; please update the app.",
        "服务器无法识别操作“{name}”，请更新应用。",
    ),
    "receipt_expired": (
        "This action was applied long ago; its result is no longer kept.",
        "该操作早已执行，结果记录已不再保留。",
    ),
    "upload_failed": (
        "The photo could not be uploaded after {attempts} tries.",
        "照片已尝试上传{attempts}次，均未成功。",
    ),
    "assessment_not_found": (
        "There is no published assessment for {month}.",
        "{month}月度考核尚未发布。",
    ),
    "assessment_published": (
        "The assessment of {month} is published; withdraw it before changing it.",
        "{month}月度考核已发布，如需修改请先撤回。",
    ),
    "assessment_not_published": (
        "The assessment of {month} is not published.",
        "{month}月度考核尚未发布。",
    ),
    "assessment_month_open": (
        "{month} has not ended yet; its assessment can be published from {opens}.",
        "{month}尚未结束，自{opens}起方可发布考核结果。",
    ),
    "assessment_incomplete": (
        "Some units still miss scores; see errors.",
        "部分单位的考核分项尚未录入，详见errors。",
    ),
    "internal_error": (
        "Something went wrong on our side; nothing was saved.",
        "服务器出错，本次操作未保存。",
    ),
}

STATE_ZH = {
    "reported": "已上报",
    "verifying": "核实中",
    "registered": "已立案",
    "rejected": "不予立案",
    "dispatched": "已派遣",
    "handling": "处置中",
    "returned": "已回退",
    "handled": "处置完毕",
    "checking": "核查中",
    "rework": "返工",
    "closed": "已结案",
    "merged": "已合并",
}

ACTION_ZH = {
    "report": "上报",
    "request_verify": "派发核实",
    "verify": "核实",
    "register": "立案",
    "reject": "不予立案",
    "dispatch": "派遣",
    "accept": "接单",
    "return": "回退",
    "handle": "处置完毕",
    "request_check": "派发核查",
    "check": "核查",
    "merge": "合并",
    "supervise": "督办",
    "answer_supervision": "回复督办",
    "rate": "评价",
    "reopen": "重新办理",
}


def render(code: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the (English, Chinese) message for ``code`` filled with ``params``."""
    en, zh = MESSAGES.get(code, MESSAGES["bad_request"])
    values = dict(params)
    if "state" in values:
        values.setdefault("state_zh", STATE_ZH.get(str(values["state"]), values["state"]))
    if "action" in values:
        values.setdefault("action_zh", ACTION_ZH.get(str(values["action"]), values["action"]))
    values.setdefault("detail_zh", values.get("detail", ""))
    try:
        return en.format(**values), zh.format(**values)
    except (KeyError, IndexError):
        return en, zh


class CgtError(Exception):
    """Root of every error 城管通 raises on purpose; carries an HTTP-like status."""

    status = 400
    default_code = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.code = code or self.default_code
        self.params = params
        self.errors = errors or {}
        self.message, self.message_zh = render(self.code, params)
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "errors": self.errors,
        }


class InvalidInput(CgtError):
    status = 422
    default_code = "validation_failed"


class NotAuthenticated(CgtError):
    status = 401
    default_code = "unauthorized"


class Forbidden(CgtError):
    status = 403
    default_code = "forbidden"


class NotFound(CgtError):
    status = 404
    default_code = "not_found"


class Conflict(CgtError):
    status = 409
    default_code = "version_conflict"


class TooMany(CgtError):
    status = 429
    default_code = "rate_limited"
