"""Photo endpoints: upload (by POST, by PUT under the sha256, or resumable in chunks),
metadata, file content."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Response, current_app, jsonify, request, send_file, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from werkzeug.http import parse_content_range_header

from shared_models.errors import InvalidInput, NotFound
from sync.protocol import check_protocol

from .. import clock
from ..db import session
from ..models import Photo
from ..services import photo_uploads as uploads
from ..services import photos as svc
from ..storage import SHA256_RE, PhotoStore
from .blueprint import Blueprint
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


class UploadStart(Schema):
    size = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "bytes of the whole photo"},
    )
    mime = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "image/jpeg, image/png or image/webp (checked again at the end)"},
    )


class UploadOut(Schema):
    sha256 = fields.String()
    size = fields.Integer(metadata={"description": "bytes of the whole photo"})
    offset = fields.Integer(metadata={"description": "bytes the server holds: send from here"})
    complete = fields.Boolean(metadata={"description": "the photo is stored"})
    chunk_max = fields.Integer(metadata={"description": "the most bytes one chunk may have"})
    expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "an unfinished upload is dropped after this"}
    )
    photo = fields.Nested(PhotoOut, allow_none=True, metadata={"description": "once complete"})


class VariantQuery(Schema):
    variant = fields.String(
        load_default=svc.Variant.PUBLIC.value,
        validate=validate.OneOf([v.value for v in svc.Variant]),
    )


def settings() -> svc.PhotoSettings:
    return svc.PhotoSettings.from_config(current_app.config)


def upload_settings() -> uploads.UploadSettings:
    return uploads.UploadSettings.from_config(current_app.config)


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


def check_sync_protocol() -> None:
    """A phone names its sync protocol in ``Sync-Protocol``; one the server no longer speaks
    is answered 426 "please update the app" (docs/sync-protocol.md, rule V-2)."""
    version = request.headers.get("Sync-Protocol")
    if version is not None:
        check_protocol({"protocol": int(version) if version.strip().isdigit() else version})


def present_upload(
    state: uploads.UploadState, cfg: uploads.UploadSettings, status: int = 200
) -> tuple[dict[str, Any], int, dict[str, str]]:
    body = {
        "sha256": state.sha256,
        "size": state.size,
        "offset": state.offset,
        "complete": state.complete,
        "chunk_max": cfg.chunk_max,
        "expires_at": state.expires_at,
        "photo": present(state.photo) if state.photo is not None else None,
    }
    location = url_for("photos.PhotoUploadItem", sha256=state.sha256)
    return body, status, {"Upload-Offset": str(state.offset), "Location": location}


def chunk_range(size_read: int) -> tuple[int, int | None]:
    """``(offset, total)`` from ``Content-Range: bytes <first>-<last>/<total or *>``."""
    header = request.headers.get("Content-Range")
    parsed = parse_content_range_header(header) if header else None
    if parsed is None or parsed.units != "bytes" or parsed.start is None or parsed.stop is None:
        raise InvalidInput(errors={"Content-Range": ["required: bytes <first>-<last>/<size>"]})
    if parsed.stop - parsed.start != size_read:
        raise InvalidInput(errors={"Content-Range": [f"the body has {size_read} bytes"]})
    return parsed.start, parsed.length


def chunk_digest() -> bytes | None:
    """The chunk's sha256 from ``Content-Digest: sha-256=:<base64>:`` (RFC 9530), if sent."""
    header = request.headers.get("Content-Digest")
    if header is None:
        return None
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() == "sha-256":
            try:
                raw = base64.b64decode(value.strip().strip(":"), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise InvalidInput(errors={"Content-Digest": ["sha-256 must be 32 bytes, base64"]})
            return raw
    return None


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


@blp.route("/<string:sha256>/upload")
class PhotoUploadItem(MethodView):
    """A resumable upload of one photo by the signed-in user (docs/photos.md)."""

    @requires()
    @blp.arguments(UploadStart)
    @blp.response(201, UploadOut)
    @blp.alt_response(200, schema=UploadOut, description="Resumed, or the photo is stored")
    def post(self, body: dict[str, Any], sha256: str) -> Any:
        """Start or resume a chunked upload; the answer's offset says where to go on 开始上传"""
        check_sync_protocol()
        cfg, s = upload_settings(), session()
        state = uploads.begin(
            s, current_actor(), sha256, body["size"], body["mime"], cfg, clock.now()
        )
        s.commit()
        return present_upload(state, cfg, 201 if state.created else 200)

    @requires()
    @blp.response(200, UploadOut)
    def get(self, sha256: str) -> Any:
        """How many bytes of this upload the server holds (also in ``Upload-Offset``) 上传进度"""
        check_sync_protocol()
        cfg = upload_settings()
        return present_upload(
            uploads.state(session(), current_actor(), sha256, cfg, clock.now()), cfg
        )

    @requires()
    @blp.doc(
        requestBody={"required": True, "content": {"application/octet-stream": _BINARY}},
        parameters=[
            {
                "in": "header",
                "name": "Content-Range",
                "required": True,
                "schema": {"type": "string"},
                "description": "bytes <first>-<last>/<size>; <first> must be the server's offset",
            },
            {
                "in": "header",
                "name": "Content-Digest",
                "required": False,
                "schema": {"type": "string"},
                "description": "sha-256=:<base64 of the chunk's sha256>: (RFC 9530)",
            },
        ],
    )
    @blp.response(200, UploadOut)
    @blp.alt_response(201, schema=UploadOut, description="The last chunk: the photo is stored")
    def patch(self, sha256: str) -> Any:
        """Send the next chunk; the last one stores the photo after checking it 上传分段"""
        check_sync_protocol()
        cfg, s = upload_settings(), session()
        data = request.stream.read(cfg.chunk_max + 1)
        if len(data) > cfg.chunk_max:  # before the range check: it cannot match a cut read
            raise uploads.ChunkTooLarge(max_bytes=cfg.chunk_max)
        offset, total = chunk_range(len(data))
        try:
            state = uploads.append(
                s,
                current_actor(),
                sha256,
                offset,
                data,
                cfg,
                clock.now(),
                total=total,
                digest=chunk_digest(),
            )
        except uploads.UploadDropped as dropped:
            s.commit()  # the refused upload is gone for good; the answer says why
            raise dropped.error from None
        s.commit()
        return present_upload(state, cfg, 201 if state.created else 200)

    @requires()
    @blp.response(204)
    def delete(self, sha256: str) -> None:
        """Give up an unfinished upload 取消上传"""
        s = session()
        uploads.cancel(s, current_actor(), sha256, upload_settings())
        s.commit()


@blp.errorhandler(uploads.OffsetMismatch)
def _offset_mismatch(error: uploads.OffsetMismatch) -> Response:
    resp = jsonify(error.to_dict())
    resp.status_code = error.status
    resp.headers["Upload-Offset"] = str(error.offset)
    return resp


@blp.route("/<string:sha256>/content")
class PhotoContent(MethodView):
    @requires()
    @blp.arguments(VariantQuery, location="query")
    @blp.response(200, description="The image file", content_type="image/*")
    def get(self, query: dict[str, str], sha256: str) -> Response:
        """Download a photo variant: public, thumb or original 下载照片"""
        return send_variant(sha256, svc.Variant(query["variant"]))


def send_variant(sha256: str, variant: svc.Variant) -> Response:
    """The file of one variant, if the current actor may see it (404 otherwise)."""
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
