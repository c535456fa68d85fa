"""Speech and language providers: cloud plugins and the fully local stack."""
