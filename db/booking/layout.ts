import { z } from 'zod';

/** A screen's seat layout as stored in screens.layout. */
export const screenLayoutSchema = z.object({
  categories: z
    .array(
      z.object({
        code: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
        name: z.string().min(1).max(40),
        priceCents: z.number().int().min(0).max(1_000_000),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
      }),
    )
    .min(1),
  rows: z
    .array(
      z.object({
        label: z.string().regex(/^[A-Z]{1,2}$/),
        seats: z.number().int().min(1).max(60),
        category: z.string(),
        /** Seat numbers after which the map shows an aisle. */
        aisleAfter: z.array(z.number().int().min(1)).optional(),
        /** Seat numbers that are wheelchair spaces. */
        wheelchair: z.array(z.number().int().min(1)).optional(),
      }),
    )
    .min(1),
});

export type ScreenLayout = z.infer<typeof screenLayoutSchema>;

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
