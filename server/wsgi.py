"""WSGI entry point for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 server.wsgi:app``."""

from server.production import production_app

app = production_app()
