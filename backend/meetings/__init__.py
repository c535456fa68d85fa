"""The meeting bridge: Meeting BaaS bots carry the agent into Zoom, Google Meet and Teams.

``routes`` is the HTTP/WebSocket surface, ``service`` orchestrates a meeting's life,
``baas_client`` speaks the Meeting BaaS v2 API, ``bridge`` moves audio between the bot's
WebSocket and the LiveKit room. See docs/meeting-bridge.md.
"""
