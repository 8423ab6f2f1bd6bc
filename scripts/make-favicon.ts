import fs from 'node:fs';
import { launchBrowser } from '../harness/browser';

/**
 * app/favicon.ico from app/icon.svg (`npx tsx scripts/make-favicon.ts`): browsers still ask for
 * /favicon.ico (a 404 in the console otherwise). Chromium renders the SVG at each size; the ICO
 * holds the PNGs as they are (an ICO entry may be a whole PNG file).
 */
const SIZES = [16, 32, 48];

async function main(): Promise<void> {
  const svg = fs.readFileSync('app/icon.svg', 'utf8');
  const browser = await launchBrowser();
  const pngs: Buffer[] = [];
  try {
    for (const size of SIZES) {
      const page = await browser.newPage({ viewport: { width: size, height: size } });
      await page.setContent(`<body style="margin:0">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body>`);
      pngs.push(await page.screenshot({ omitBackground: true }));
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const header = Buffer.alloc(6 + 16 * SIZES.length);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(SIZES.length, 4);
  let offset = header.length;
  SIZES.forEach((size, i) => {
    const entry = 6 + 16 * i;
    header.writeUInt8(size, entry);
    header.writeUInt8(size, entry + 1);
    header.writeUInt16LE(1, entry + 4); // colour planes
    header.writeUInt16LE(32, entry + 6); // bits per pixel
    header.writeUInt32LE(pngs[i]!.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += pngs[i]!.length;
  });
  fs.writeFileSync('app/favicon.ico', Buffer.concat([header, ...pngs]));
}

void main();
