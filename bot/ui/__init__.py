"""Payloads as discord.py messages: kwargs, the persistent Related button, the pager."""
