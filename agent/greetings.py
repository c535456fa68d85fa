"""The greeting, said in the room's language from fixed translations (never generated).

A greeting is the first thing a user hears and the small local model cannot be trusted to
translate it, so each language has its own fixed text. An operator's own ``greeting``
(agent_config) is said as written. A language without a translation (and ``multi``, where
the user's language is not known yet) is greeted in English.
"""

from __future__ import annotations

from parley_common.agent_config import AgentConfig

# {name} is the agent's display name.
CONVERSATION: dict[str, str] = {
    "en": "Hello! I'm {name}. How can I help you today?",
    "es": "¡Hola! Soy {name}. ¿En qué puedo ayudarte hoy?",
    "fr": "Bonjour ! Je suis {name}. Comment puis-je vous aider aujourd'hui ?",
    "de": "Hallo! Ich bin {name}. Wie kann ich Ihnen heute helfen?",
    "it": "Ciao! Sono {name}. Come posso aiutarti oggi?",
    "pt": "Olá! Eu sou {name}. Como posso ajudar hoje?",
}
MEETING: dict[str, str] = {
    "en": "Hello everyone, I'm {name}. Say my name if you need me.",
    "es": "Hola a todos, soy {name}. Decid mi nombre si me necesitáis.",
    "fr": "Bonjour à tous, je suis {name}. Dites mon nom si vous avez besoin de moi.",
    "de": "Hallo zusammen, ich bin {name}. Sagt meinen Namen, wenn ihr mich braucht.",
    "it": "Ciao a tutti, sono {name}. Dite il mio nome se avete bisogno di me.",
    "pt": "Olá a todos, eu sou {name}. Digam o meu nome se precisarem de mim.",
}


def greeting_language(language: str) -> str:
    """The translation used for a room language ("fr-CA" → "fr"; unknown, multi → "en")."""
    base = language.split("-")[0].lower()
    return base if base in CONVERSATION else "en"


def greeting_for(config: AgentConfig) -> str:
    if config.greeting:
        return config.greeting
    table = MEETING if config.mode == "meeting" else CONVERSATION
    return table[greeting_language(config.language)].format(name=config.agent_display_name)


# The fixed answers to a clear goodbye and to "stop, that's enough" (closing_words).
FAREWELL: dict[str, str] = {
    "en": "Thanks for talking with me. Goodbye!",
    "es": "Gracias por hablar conmigo. ¡Adiós!",
    "fr": "Merci pour cette conversation. Au revoir !",
    "de": "Danke für das Gespräch. Auf Wiedersehen!",
    "it": "Grazie per aver parlato con me. Arrivederci!",
    "pt": "Obrigado pela conversa. Adeus!",
}
ACKNOWLEDGE: dict[str, str] = {
    "en": "Okay.",
    "es": "De acuerdo.",
    "fr": "D'accord.",
    "de": "In Ordnung.",
    "it": "Va bene.",
    "pt": "Está bem.",
}


def farewell_for(config: AgentConfig) -> str:
    return FAREWELL[greeting_language(config.language)]


def acknowledgement_for(config: AgentConfig) -> str:
    return ACKNOWLEDGE[greeting_language(config.language)]
