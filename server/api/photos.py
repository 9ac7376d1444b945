"""Placeholder blueprint; replaced by the real module."""

from flask_smorest import Blueprint

blp = Blueprint("photos", __name__, url_prefix="/api/photos")
