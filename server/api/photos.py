"""Photo endpoints: upload (by POST or by PUT under the sha256), metadata, file content."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shared_models.errors import InvalidInput, NotFound

from .. import clock
from ..db import session
from ..models import Photo
from ..services import photos as svc
from ..storage import SHA256_RE, PhotoStore
from .security import current_actor, requires

blp = Blueprint("photos", __name__, url_prefix="/api/photos", description="Photos 照片")

CACHE_CONTROL = "private, max-age=31536000, immutable"
RAW_TYPES = ("image/jpeg", "image/png", "image/webp", "application/octet-stream")
_BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": _BINARY["schema"], "sha256": {"type": "string"}},
                "required": ["file"],
            }
        },
        **{t: _BINARY for t in RAW_TYPES},
    },
}


class PhotoOut(Schema):
    sha256 = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer(metadata={"description": "bytes of the original upload"})
    mime = fields.String()
    had_gps = fields.Boolean(metadata={"description": "the original carried a GPS position"})
    url = fields.String(metadata={"description": "public variant, metadata stripped"})
    thumb_url = fields.String()


class VariantQuery(Schema):
    variant = fields.String(
        load_default=svc.Variant.PUBLIC.value,
        validate=validate.OneOf([v.value for v in svc.Variant]),
    )


def settings() -> svc.PhotoSettings:
    return svc.PhotoSettings.from_config(current_app.config)


def present(photo: Photo) -> dict[str, Any]:
    def link(variant: svc.Variant) -> str:
        return url_for("photos.PhotoContent", sha256=photo.sha256, variant=variant.value)

    return {
        "sha256": photo.sha256,
        "width": photo.width,
        "height": photo.height,
        "size": photo.size,
        "mime": photo.mime,
        "had_gps": photo.had_gps,
        "url": link(svc.Variant.PUBLIC),
        "thumb_url": link(svc.Variant.THUMB),
    }


def read_upload(max_bytes: int) -> tuple[bytes, str | None]:
    """The uploaded bytes (multipart ``file`` or a raw body) and a declared sha256, if any.

    Reads at most one byte past the limit, so an oversize upload is refused without being
    held in memory whole.
    """
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput(errors={"file": ["Missing data for required field."]})
        return upload.stream.read(max_bytes + 1), request.form.get("sha256") or None
    if request.mimetype not in RAW_TYPES and not request.mimetype.startswith("image/"):
        raise svc.UnsupportedMedia()
    return request.stream.read(max_bytes + 1), None


def upload(declared: str | None) -> tuple[dict[str, Any], int]:
    cfg, s = settings(), session()
    data, in_form = read_upload(cfg.max_bytes)
    actor = current_actor()
    photo, created = svc.store_photo(s, data, actor, cfg, clock.now(), declared or in_form)
    s.commit()
    return present(photo), 201 if created else 200


def visible_photo(sha256: str, variant: svc.Variant) -> Photo:
    """The photo if the actor may see ``variant``; 404 otherwise, whether or not it exists."""
    s = session()
    if not SHA256_RE.match(sha256) or not svc.can_view_photo(s, current_actor(), sha256, variant):
        raise NotFound("photo_not_found")
    photo = s.get(Photo, sha256)
    assert photo is not None
    return photo


@blp.route("")
class Photos(MethodView):
    @requires()
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(201, PhotoOut)
    @blp.alt_response(200, schema=PhotoOut, description="These bytes were already stored")
    def post(self) -> tuple[dict[str, Any], int]:
        """Upload a photo (JPEG, PNG or WebP) 上传照片"""
        return upload(declared=None)


@blp.route("/<string:sha256>")
class PhotoItem(MethodView):
    @requires()
    @blp.response(200, PhotoOut)
    def get(self, sha256: str) -> dict[str, Any]:
        """Photo metadata; HEAD tells whether it is stored 照片信息"""
        return present(visible_photo(sha256, svc.Variant.PUBLIC))

    @requires()
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.response(201, PhotoOut)
    @blp.alt_response(200, schema=PhotoOut, description="These bytes were already stored")
    def put(self, sha256: str) -> tuple[dict[str, Any], int]:
        """Upload a photo under its sha256, which the server verifies 按校验值上传照片"""
        return upload(declared=sha256)


@blp.route("/<string:sha256>/content")
class PhotoContent(MethodView):
    @requires()
    @blp.arguments(VariantQuery, location="query")
    @blp.response(200, description="The image file", content_type="image/*")
    def get(self, query: dict[str, str], sha256: str) -> Response:
        """Download a photo variant: public, thumb or original 下载照片"""
        variant = svc.Variant(query["variant"])
        photo = visible_photo(sha256, variant)
        path = PhotoStore(settings().photo_dir).path(photo.sha256, variant)
        if not path.is_file():
            raise NotFound("photo_not_found")
        resp = send_file(
            path,
            mimetype=svc.variant_mime(photo, variant),
            etag=f"{photo.sha256}-{variant.value}",
            conditional=True,
        )
        resp.headers["Cache-Control"] = CACHE_CONTROL
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp
