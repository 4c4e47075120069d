"""Minsheng (民生): residents' problem reports — chat, classify, route, track."""
