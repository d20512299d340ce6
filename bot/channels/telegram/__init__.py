"""Telegram: the webhook door (webhook.py) and the push sender (sender.py)."""
