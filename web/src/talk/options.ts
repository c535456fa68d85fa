export interface Option {
  value: string;
  label: string;
}

/** Sent as agent_config.language; the page offers those GET /api/capabilities lists. */
export const LANGUAGES: Option[] = [
  { value: 'en', label: 'English' },
  { value: 'es', label: 'Español' },
  { value: 'fr', label: 'Français' },
  { value: 'de', label: 'Deutsch' },
  { value: 'multi', label: 'Follow my language' },
];

/**
 * Sent as agent_config.preset: the backend's named presets (PARLEY_AGENT_PRESETS; these are
 * its built-in ones). A public caller may not set the persona itself (docs/security.md).
 */
export const PERSONAS: Option[] = [
  { value: 'friendly', label: 'Friendly assistant' },
  { value: 'concise', label: 'Concise expert' },
  { value: 'pirate', label: 'Pirate' },
];
