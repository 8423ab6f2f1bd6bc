import type { ScreenLayout } from '../contract/booking';

/** Sample catalogue for a fresh install. Fictional films, so every poster is our own artwork. */
export const SAMPLE_MOVIES = [
  { title: 'The Last Lighthouse', genre: 'Drama', certificate: 'PG-13', rating: 8.1, durationMin: 124, releaseYear: 2026, posterHue: 205,
    description: 'A keeper on a storm-battered island refuses to let the light go out, even when the sea takes everything else.' },
  { title: 'Quantum Heist', genre: 'Sci-Fi', certificate: 'PG-13', rating: 7.6, durationMin: 131, releaseYear: 2026, posterHue: 265,
    description: 'A crew of physicists plans to rob a bank vault that exists in two places at once.' },
  { title: 'Paper Dragons', genre: 'Animation', certificate: 'U', rating: 8.4, durationMin: 96, releaseYear: 2026, posterHue: 12,
    description: 'An origami dragon folded by a lonely girl comes to life on the night of the lantern festival.' },
  { title: 'Midnight in Marrakesh', genre: 'Romance', certificate: 'PG', rating: 7.2, durationMin: 112, releaseYear: 2025, posterHue: 330,
    description: 'Two strangers miss the last train and spend one long, luminous night in the old city.' },
  { title: 'Byzantine Generals', genre: 'Thriller', certificate: '15', rating: 7.9, durationMin: 118, releaseYear: 2026, posterHue: 40,
    description: 'Three armies, one traitor, and messengers who may never arrive. Agreement has never been this deadly.' },
  { title: 'The Vector Clock', genre: 'Mystery', certificate: '12A', rating: 7.4, durationMin: 105, releaseYear: 2026, posterHue: 175,
    description: 'A detective reconstructs a murder from the timestamps of five witnesses whose watches all disagree.' },
  { title: 'Laughing Gas', genre: 'Comedy', certificate: '12A', rating: 6.9, durationMin: 98, releaseYear: 2025, posterHue: 90,
    description: 'A dentist, a stand-up comedian and a runaway balloon collide on the worst wedding day in history.' },
  { title: 'Echoes of Titan', genre: 'Sci-Fi', certificate: '12A', rating: 8.0, durationMin: 142, releaseYear: 2026, posterHue: 230,
    description: 'On Saturn’s largest moon a lone probe starts answering messages that were never sent.' },
  { title: 'The Quiet Orchard', genre: 'Drama', certificate: 'PG', rating: 7.7, durationMin: 109, releaseYear: 2025, posterHue: 120,
    description: 'Three generations of a family return to the apple orchard they swore they would sell.' },
  { title: 'Night Shift Zombies', genre: 'Horror', certificate: '18', rating: 6.8, durationMin: 94, releaseYear: 2026, posterHue: 0,
    description: 'The staff of a 24-hour supermarket defend the frozen aisle until sunrise.' },
] as const;

const standard = { code: 'standard', name: 'Standard', priceCents: 1150, color: '#3b82f6' };
const premium = { code: 'premium', name: 'Premium', priceCents: 1550, color: '#8b5cf6' };
const recliner = { code: 'recliner', name: 'Recliner', priceCents: 1990, color: '#f59e0b' };
const accessible = { code: 'accessible', name: 'Accessible', priceCents: 1150, color: '#10b981' };
const sofa = { code: 'sofa', name: 'Sofa for two', priceCents: 2400, color: '#ec4899' };

const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const SAMPLE_SCREENS: { name: string; layout: ScreenLayout }[] = [
  {
    // 14 rows of 16 = 224 seats, two aisles, premium middle block, wheelchair spaces at the front.
    name: 'Grand Hall',
    layout: {
      categories: [standard, premium, accessible],
      rows: Array.from({ length: 14 }, (_, i) => ({
        label: letters[i] ?? 'Z',
        seats: 16,
        category: i === 0 ? 'accessible' : i >= 6 && i <= 10 ? 'premium' : 'standard',
        aisleAfter: [4, 12],
        ...(i === 0 ? { wheelchair: [1, 2, 15, 16] } : {}),
      })),
    },
  },
  {
    // 9 rows of 12 = 108 seats, one centre aisle, recliners at the back.
    name: 'Studio 2',
    layout: {
      categories: [standard, recliner, accessible],
      rows: Array.from({ length: 9 }, (_, i) => ({
        label: letters[i] ?? 'Z',
        seats: 12,
        category: i === 0 ? 'accessible' : i >= 7 ? 'recliner' : 'standard',
        aisleAfter: [6],
        ...(i === 0 ? { wheelchair: [1, 12] } : {}),
      })),
    },
  },
  {
    // A boutique room: rows widen towards the back, sofas in the last row.
    name: 'Boutique',
    layout: {
      categories: [premium, sofa, accessible],
      rows: [
        { label: 'A', seats: 6, category: 'accessible', wheelchair: [1, 6] },
        { label: 'B', seats: 8, category: 'premium', aisleAfter: [4] },
        { label: 'C', seats: 10, category: 'premium', aisleAfter: [5] },
        { label: 'D', seats: 10, category: 'premium', aisleAfter: [5] },
        { label: 'E', seats: 6, category: 'sofa', aisleAfter: [3] },
      ],
    },
  },
];

/** Local start times of the daily programme on every screen. */
export const DAILY_START_HOURS = [13, 16, 19, 22];
export const SHOWTIME_DAYS_AHEAD = 7;
