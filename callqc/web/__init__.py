"""The QC review web app (FastAPI, server-rendered Jinja2 pages). Entry point: create_app(settings)."""

from callqc.web.app import create_app

__all__ = ["create_app"]
