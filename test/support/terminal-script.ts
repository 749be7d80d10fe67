/** Onboarding as a newcomer types it in the terminal: button numbers, a typed pain, time and city. */
export const TYPED_ONBOARDING: readonly string[] = [
  '1', // consent
  ...['2', '2', '2'], // emergency items: no
  '2', // age 20–39
  ...Array(7).fill('2'), // clinician items: no
  '4', // pain now, typed on the 0–10 scale
  ...Array(8).fill('2'), // STarT Back items 1–8: disagree
  '2', // bothersomeness: slightly
  '3', // side bridge left: 30–59 s
  '3', // side bridge right: 30–59 s
  '5', // single-leg stance: 40–49 s
  'yes', // ten single-leg bridges fine
  'no', // the other thigh stays down
  'no', // the pelvis stays still
  '7:30', // drill time, typed
  'Berlin', // timezone, typed
  '1', // quiet hours 22–07
];

/** One simulated day: jump to drill time, Done, a typed pain, a difficulty button, no pain during. */
export const typedDay = (pain: string, difficulty: '1' | '2' | '3'): string[] => [
  '!tomorrow',
  '1',
  pain,
  difficulty,
  '1',
];
