import { useId } from 'react';

/**
 * Generated poster artwork (nothing is fetched): a sky in the movie's hue, a glowing orb, stars,
 * layered ridges and the title, all derived deterministically from the title, so the same movie
 * always gets the same poster. The genre picks a few accents (rings for sci-fi, confetti for
 * comedy and animation, sharp ridges for horror and thrillers).
 */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const W = 200;
const H = 300;

function ridge(random: () => number, baseY: number, amplitude: number, sharp: boolean): string {
  const steps = sharp ? 9 : 5;
  const points = Array.from({ length: steps + 1 }, (_, i) => [(i / steps) * W, baseY - random() * amplitude] as const);
  if (sharp) return `M0 ${H} ${points.map(([x, y]) => `L${x.toFixed(1)} ${y.toFixed(1)}`).join(' ')} L${W} ${H} Z`;
  let d = `M0 ${H} L0 ${points[0]![1].toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const [px, py] = points[i - 1]!;
    const [x, y] = points[i]!;
    const cx = (px + x) / 2;
    d += ` C${cx.toFixed(1)} ${py.toFixed(1)} ${cx.toFixed(1)} ${y.toFixed(1)} ${x.toFixed(1)} ${y.toFixed(1)}`;
  }
  return `${d} L${W} ${H} Z`;
}

function titleLines(title: string, maxChars: number): string[] {
  const lines: string[] = [];
  for (const word of title.toUpperCase().split(/\s+/)) {
    const last = lines.at(-1);
    if (last !== undefined && (last + ' ' + word).length <= maxChars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.slice(0, 4);
}

export function Poster({ title, hue, genre, className = '', showTitle = true }: { title: string; hue: number; genre: string; className?: string; showTitle?: boolean }) {
  const id = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const random = seededRandom(hashString(title));
  const g = genre.toLowerCase();
  const sharp = /horror|thriller|sci|action|war/.test(g);
  const confetti = /comedy|animation|family|musical/.test(g);
  const ringed = /sci/.test(g);
  const orb = { x: 40 + random() * 120, y: 60 + random() * 60, r: 26 + random() * 30 };
  const stars = Array.from({ length: 28 }, () => ({ x: random() * W, y: random() * 150, r: 0.4 + random() * 1.1, o: 0.3 + random() * 0.7 }));
  const ridges = [0, 1, 2].map((i) => ridge(random, 190 + i * 30, 40 - i * 8, sharp));
  const bits = confetti ? Array.from({ length: 18 }, () => ({ x: random() * W, y: random() * 200, r: 1.5 + random() * 3, h: (hue + random() * 180) % 360 })) : [];
  const lines = titleLines(title, title.length > 18 ? 11 : 10);
  // As large as fits: the longest line spans at most ~170 of the 200 units (bold caps ≈ 0.72 em each, plus spacing).
  const longest = Math.max(...lines.map((l) => l.length));
  const fontSize = Math.min(lines.length > 2 ? 18 : 22, Math.floor(170 / (longest * 0.72 + (longest - 1) * 0.075)));
  const textTop = H - 22 - (lines.length - 1) * (fontSize + 2);

  return (
    <svg viewBox={`0 0 ${W} ${H}`} className={className} role="img" aria-label={`Poster of ${title}`} preserveAspectRatio="xMidYMid slice">
      <defs>
        <linearGradient id={`${id}-sky`} x1="0" y1="0" x2="0" y2="1">
          <stop offset="0" stopColor={`hsl(${hue} 70% 58%)`} />
          <stop offset="0.55" stopColor={`hsl(${(hue + 25) % 360} 55% 30%)`} />
          <stop offset="1" stopColor={`hsl(${(hue + 40) % 360} 60% 10%)`} />
        </linearGradient>
        <radialGradient id={`${id}-orb`}>
          <stop offset="0" stopColor={`hsl(${(hue + 40) % 360} 100% 92%)`} />
          <stop offset="0.6" stopColor={`hsl(${(hue + 30) % 360} 95% 72%)`} />
          <stop offset="1" stopColor={`hsl(${(hue + 20) % 360} 90% 60%)`} stopOpacity="0" />
        </radialGradient>
        <linearGradient id={`${id}-shade`} x1="0" y1="0" x2="0" y2="1">
          <stop offset="0.45" stopColor="#020617" stopOpacity="0" />
          <stop offset="1" stopColor="#020617" stopOpacity="0.9" />
        </linearGradient>
      </defs>
      <rect width={W} height={H} fill={`url(#${id}-sky)`} />
      {stars.map((s, i) => <circle key={i} cx={s.x} cy={s.y} r={s.r} fill="white" opacity={s.o} />)}
      <circle cx={orb.x} cy={orb.y} r={orb.r * 1.9} fill={`url(#${id}-orb)`} opacity="0.55" />
      <circle cx={orb.x} cy={orb.y} r={orb.r} fill={`hsl(${(hue + 35) % 360} 95% 85%)`} />
      {ringed && (
        <ellipse cx={orb.x} cy={orb.y} rx={orb.r * 1.7} ry={orb.r * 0.38} fill="none" stroke={`hsl(${(hue + 35) % 360} 90% 88%)`} strokeWidth="2.5" opacity="0.8" transform={`rotate(-18 ${orb.x} ${orb.y})`} />
      )}
      {bits.map((b, i) => <circle key={i} cx={b.x} cy={b.y} r={b.r} fill={`hsl(${b.h} 90% 70%)`} opacity="0.85" />)}
      {ridges.map((d, i) => <path key={i} d={d} fill={`hsl(${(hue + 30 + i * 8) % 360} ${45 - i * 10}% ${24 - i * 7}%)`} />)}
      <rect width={W} height={H} fill={`url(#${id}-shade)`} />
      {showTitle && (
        <text x={W / 2} y={textTop} textAnchor="middle" fill="white" fontFamily="ui-sans-serif, system-ui, sans-serif" fontWeight="800" fontSize={fontSize} letterSpacing="1.5">
          {lines.map((line, i) => (
            <tspan key={i} x={W / 2} dy={i === 0 ? 0 : fontSize + 2}>{line}</tspan>
          ))}
        </text>
      )}
    </svg>
  );
}
