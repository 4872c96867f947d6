"""Notification hooks: a log line and webhooks on promotion, rejection and failure."""

from components.notifications.hooks import Notification, notify

__all__ = ["Notification", "notify"]
