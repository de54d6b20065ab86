"""The web dashboard: login with roles, server-rendered pages with htmx, a JSON API."""

from smbgrowth.web.app import create_app
from smbgrowth.web.users import ROLES, UserStore

__all__ = ["ROLES", "UserStore", "create_app"]
