"""Sign-in endpoints: phone + one-time code, username + password, refresh, sign-out, devices."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared_models.errors import NotAuthenticated

from .. import clock
from ..db import session
from ..services import auth as svc
from .blueprint import Blueprint
from .security import auth_settings, current_actor, requires

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign-in and devices 登录")


class OtpRequest(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=20))


class DeviceFields(Schema):
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    device_name = fields.String(load_default="", validate=validate.Length(max=64))


class OtpVerify(DeviceFields):
    phone = fields.String(required=True, validate=validate.Length(max=20))
    code = fields.String(required=True, validate=validate.Length(min=4, max=8))


class PasswordLogin(DeviceFields):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class RefreshRequest(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(max=128))


class SignedInUser(Schema):
    id = fields.Integer()
    role = fields.String()
    display_name = fields.String()
    username = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    department_id = fields.Integer(allow_none=True)


class TokensOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    device_token_id = fields.Integer()
    user = fields.Nested(SignedInUser)


class OtpSent(Schema):
    sent = fields.Boolean()
    expires_in = fields.Integer()
    resend_in = fields.Integer()


class DeviceOut(Schema):
    id = fields.Integer()
    device_id = fields.String()
    device_name = fields.String()
    created_at = fields.DateTime()
    current = fields.Boolean()


def sms_provider() -> svc.SmsProvider:
    provider = current_app.extensions.get("cgt_sms")
    if provider is None:
        provider = current_app.extensions["cgt_sms"] = svc.LogSmsProvider()
    return provider


@blp.route("/otp")
class Otp(MethodView):
    @blp.arguments(OtpRequest)
    @blp.response(202, OtpSent)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Send a one-time sign-in code to a phone 获取短信验证码"""
        cfg = auth_settings()
        s = session()
        fixed = current_app.config.get("OTP_FIXED_CODE")
        svc.request_otp(s, data["phone"], sms_provider(), cfg, clock.now(), fixed)
        s.commit()
        return {"sent": True, "expires_in": cfg.otp_ttl, "resend_in": cfg.otp_resend}


@blp.route("/otp/verify")
class OtpLogin(MethodView):
    @blp.arguments(OtpVerify)
    @blp.response(200, TokensOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign in with phone and one-time code 验证码登录"""
        cfg, s, now = auth_settings(), session(), clock.now()
        try:
            user = svc.verify_otp(s, data["phone"], data["code"], cfg, now)
        finally:
            s.commit()  # a wrong code must still count as an attempt
        out = svc.issue_tokens(s, user, data["device_id"], data["device_name"], cfg, now)
        s.commit()
        return out


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(PasswordLogin)
    @blp.response(200, TokensOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Staff sign-in with username and password 工作人员登录"""
        s, now = session(), clock.now()
        ph = svc.hasher(current_app.config)
        limits = svc.LoginLimits.from_config(current_app.config)
        address = request.remote_addr or "?"
        try:
            user = svc.limited_password_login(
                s, data["username"], data["password"], ph, address, limits, now
            )
        except NotAuthenticated:
            s.commit()  # a wrong password must still count
            raise
        out = svc.issue_tokens(
            s, user, data["device_id"], data["device_name"], auth_settings(), now
        )
        s.commit()
        return out


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshRequest)
    @blp.response(200, TokensOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exchange a refresh token for a new token pair (the old pair stops working)"""
        s = session()
        out = svc.refresh_tokens(s, data["refresh_token"], auth_settings(), clock.now())
        s.commit()
        return out


@blp.route("/logout")
class Logout(MethodView):
    @requires()
    @blp.response(204)
    def post(self) -> None:
        """Sign this device out 退出登录"""
        actor = current_actor()
        s = session()
        svc.revoke(s, actor.id or 0, g.device_token_id, clock.now())
        s.commit()


@blp.route("/devices")
class Devices(MethodView):
    @requires()
    @blp.response(200, DeviceOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """My signed-in devices 我的登录设备"""
        from sqlalchemy import select

        from ..models import DeviceToken

        actor = current_actor()
        rows = session().scalars(
            select(DeviceToken)
            .where(DeviceToken.user_id == actor.id, DeviceToken.revoked_at.is_(None))
            .order_by(DeviceToken.id)
        )
        return [
            {
                "id": t.id,
                "device_id": t.device_id,
                "device_name": t.device_name,
                "created_at": t.created_at,
                "current": t.id == g.device_token_id,
            }
            for t in rows
        ]


@blp.route("/devices/<int:token_id>")
class Device(MethodView):
    @requires()
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Sign a device out remotely (e.g. a lost phone) 注销设备"""
        from shared_models.errors import NotFound

        actor = current_actor()
        s = session()
        if not svc.revoke(s, actor.id or 0, token_id, clock.now()):
            raise NotFound()
        s.commit()


@blp.route("/me")
class Me(MethodView):
    @requires()
    @blp.response(200, SignedInUser)
    def get(self) -> Any:
        """Who am I 当前用户"""
        from ..models import User

        return session().get(User, current_actor().id)
