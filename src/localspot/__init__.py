"""LocalSpot: a self-hosted server for HubSpot's CRM API and its Sensitive Data rules."""

from localspot.app import create_app
from localspot.runtime import Runtime
from localspot.settings import Settings
from localspot.testing import App, LocalSpotServer

__all__ = ["App", "LocalSpotServer", "Runtime", "Settings", "create_app"]
