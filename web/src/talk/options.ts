export interface Option {
  value: string;
  label: string;
}

/** Sent as agent_config.language. */
export const LANGUAGES: Option[] = [
  { value: 'en', label: 'English' },
  { value: 'es', label: 'Español' },
  { value: 'fr', label: 'Français' },
  { value: 'de', label: 'Deutsch' },
];

/** Sent verbatim as agent_config.persona (also suggested in the meeting console). */
export const PERSONAS: Option[] = [
  { value: 'friendly assistant', label: 'Friendly assistant' },
  { value: 'concise expert', label: 'Concise expert' },
  { value: 'pirate', label: 'Pirate' },
];
