"""Every fake the tests use, one module per thing faked, named for it.

External services follow their documented wire protocols, with the source cited at the top
of each module: for example ``meeting_baas`` (Meeting BaaS v2 API and bot WebSocket) and
``open_meteo`` (geocoding and forecast). Framework interfaces: ``scripted_llm`` and
``rule_llm`` (a livekit-agents LLM provider, replies in order or by rule). ``speech`` makes
test utterances.
"""
