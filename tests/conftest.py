"""Shared pytest configuration. Browser-test fixtures live in tests/browser_support.py."""

from tests.browser_support import *  # noqa: F403 - fixtures: browser, page, app_server, screenshot_dir
