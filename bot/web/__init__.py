"""The aiohttp web app: the resident chat page at /, health at /healthz."""
