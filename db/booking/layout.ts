import type { ScreenLayout } from '../../contract/booking';

export type LayoutSeat = {
  id: string;
  row: string;
  number: number;
  category: string;
  priceCents: number;
  wheelchair: boolean;
};

export const SEAT_ID_PATTERN = /^[A-Z]{1,2}[1-9][0-9]{0,2}$/;

/** Every seat of a layout, front row first, left to right. */
export function expandLayout(layout: ScreenLayout): LayoutSeat[] {
  const prices = new Map(layout.categories.map((c) => [c.code, c.priceCents]));
  return layout.rows.flatMap((row) => {
    const priceCents = prices.get(row.category);
    if (priceCents === undefined) throw new Error(`row ${row.label}: unknown category ${row.category}`);
    const wheelchair = new Set(row.wheelchair ?? []);
    return Array.from({ length: row.seats }, (_, i) => ({
      id: `${row.label}${i + 1}`,
      row: row.label,
      number: i + 1,
      category: row.category,
      priceCents,
      wheelchair: wheelchair.has(i + 1),
    }));
  });
}
