"""Placeholder Open311 blueprint; replaced by the real module."""

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
