"""Serving: how people and programs reach rag (the web chat, the command line) and what
they leave behind (feedback). May import every layer below; nothing imports it back.
"""
