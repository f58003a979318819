/**
 * A tiny built-in bitmap font for captions on sample sheets, so labelling a PNG
 * needs no font files or native text rendering. Glyphs cover printable ASCII
 * (32..126) on a 5-pixel-wide grid: 7 rows from the cap line to the baseline
 * plus 2 descender rows (g, j, p, q, y, comma, underscore). Anything outside
 * that set is drawn as '?'.
 */

/** Glyph width in font pixels. */
export const GLYPH_WIDTH = 5;
/** Glyph height in font pixels (7 above the baseline + 2 descender rows). */
export const GLYPH_HEIGHT = 9;
/** Horizontal distance between consecutive glyph origins (one blank column between glyphs). */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

/** An 8-bit colour; alpha defaults to 255 (opaque). */
export type Color = readonly [number, number, number] | readonly [number, number, number, number];

// Rows are top to bottom; '#' is ink, '.' is blank. A glyph may list only its
// first 7 rows when it has no descender: the rest are padded with blank rows.
const GLYPH_ROWS: ReadonlyArray<readonly [string, readonly string[]]> = [
  [' ', ['.....', '.....', '.....', '.....', '.....', '.....', '.....']],
  ['!', ['..#..', '..#..', '..#..', '..#..', '..#..', '.....', '..#..']],
  ['"', ['.#.#.', '.#.#.', '.....', '.....', '.....', '.....', '.....']],
  ['#', ['.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.']],
  ['$', ['..#..', '.####', '#.#..', '.###.', '..#.#', '####.', '..#..']],
  ['%', ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##']],
  ['&', ['.##..', '#..#.', '#.#..', '.#...', '#.#.#', '#..#.', '.##.#']],
  ["'", ['..#..', '..#..', '.....', '.....', '.....', '.....', '.....']],
  ['(', ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.']],
  [')', ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...']],
  ['*', ['.....', '..#..', '#.#.#', '.###.', '#.#.#', '..#..', '.....']],
  ['+', ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....']],
  [',', ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..', '..#..', '.#...']],
  ['-', ['.....', '.....', '.....', '#####', '.....', '.....', '.....']],
  ['.', ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..']],
  ['/', ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....']],
  ['0', ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.']],
  ['1', ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.']],
  ['2', ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####']],
  ['3', ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.']],
  ['4', ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.']],
  ['5', ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.']],
  ['6', ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.']],
  ['7', ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...']],
  ['8', ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.']],
  ['9', ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..']],
  [':', ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....']],
  [';', ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '..#..', '.#...']],
  ['<', ['...#.', '..#..', '.#...', '#....', '.#...', '..#..', '...#.']],
  ['=', ['.....', '.....', '#####', '.....', '#####', '.....', '.....']],
  ['>', ['.#...', '..#..', '...#.', '....#', '...#.', '..#..', '.#...']],
  ['?', ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..']],
  ['@', ['.###.', '#...#', '#.###', '#.#.#', '#.###', '#....', '.###.']],
  ['A', ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#']],
  ['B', ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.']],
  ['C', ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.']],
  ['D', ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.']],
  ['E', ['#####', '#....', '#....', '####.', '#....', '#....', '#####']],
  ['F', ['#####', '#....', '#....', '####.', '#....', '#....', '#....']],
  ['G', ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####']],
  ['H', ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#']],
  ['I', ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.']],
  ['J', ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..']],
  ['K', ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#']],
  ['L', ['#....', '#....', '#....', '#....', '#....', '#....', '#####']],
  ['M', ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#']],
  ['N', ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#']],
  ['O', ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.']],
  ['P', ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....']],
  ['Q', ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#']],
  ['R', ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#']],
  ['S', ['.####', '#....', '#....', '.###.', '....#', '....#', '####.']],
  ['T', ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..']],
  ['U', ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.']],
  ['V', ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..']],
  ['W', ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.']],
  ['X', ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#']],
  ['Y', ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..']],
  ['Z', ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####']],
  ['[', ['.###.', '.#...', '.#...', '.#...', '.#...', '.#...', '.###.']],
  ['\\', ['.....', '#....', '.#...', '..#..', '...#.', '....#', '.....']],
  [']', ['.###.', '...#.', '...#.', '...#.', '...#.', '...#.', '.###.']],
  ['^', ['..#..', '.#.#.', '#...#', '.....', '.....', '.....', '.....']],
  ['_', ['.....', '.....', '.....', '.....', '.....', '.....', '.....', '#####']],
  ['`', ['.#...', '..#..', '.....', '.....', '.....', '.....', '.....']],
  ['a', ['.....', '.....', '.###.', '....#', '.####', '#...#', '.####']],
  ['b', ['#....', '#....', '####.', '#...#', '#...#', '#...#', '####.']],
  ['c', ['.....', '.....', '.###.', '#....', '#....', '#...#', '.###.']],
  ['d', ['....#', '....#', '.####', '#...#', '#...#', '#...#', '.####']],
  ['e', ['.....', '.....', '.###.', '#...#', '#####', '#....', '.###.']],
  ['f', ['..##.', '.#..#', '.#...', '###..', '.#...', '.#...', '.#...']],
  ['g', ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.']],
  ['h', ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '#...#']],
  ['i', ['..#..', '.....', '.##..', '..#..', '..#..', '..#..', '.###.']],
  ['j', ['...#.', '.....', '..##.', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..']],
  ['k', ['#....', '#....', '#..#.', '#.#..', '##...', '#.#..', '#..#.']],
  ['l', ['.##..', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.']],
  ['m', ['.....', '.....', '##.#.', '#.#.#', '#.#.#', '#.#.#', '#.#.#']],
  ['n', ['.....', '.....', '#.##.', '##..#', '#...#', '#...#', '#...#']],
  ['o', ['.....', '.....', '.###.', '#...#', '#...#', '#...#', '.###.']],
  ['p', ['.....', '.....', '####.', '#...#', '#...#', '#...#', '####.', '#....', '#....']],
  ['q', ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '....#']],
  ['r', ['.....', '.....', '#.##.', '##..#', '#....', '#....', '#....']],
  ['s', ['.....', '.....', '.####', '#....', '.###.', '....#', '####.']],
  ['t', ['.#...', '.#...', '###..', '.#...', '.#...', '.#..#', '..##.']],
  ['u', ['.....', '.....', '#...#', '#...#', '#...#', '#..##', '.##.#']],
  ['v', ['.....', '.....', '#...#', '#...#', '#...#', '.#.#.', '..#..']],
  ['w', ['.....', '.....', '#...#', '#...#', '#.#.#', '#.#.#', '.#.#.']],
  ['x', ['.....', '.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#']],
  ['y', ['.....', '.....', '#...#', '#...#', '#...#', '#...#', '.####', '....#', '.###.']],
  ['z', ['.....', '.....', '#####', '...#.', '..#..', '.#...', '#####']],
  ['{', ['...##', '..#..', '..#..', '.#...', '..#..', '..#..', '...##']],
  ['|', ['..#..', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..']],
  ['}', ['##...', '..#..', '..#..', '...#.', '..#..', '..#..', '##...']],
  ['~', ['.....', '.....', '.#...', '#.#.#', '...#.', '.....', '.....']],
];

/**
 * Glyph bitmaps keyed by character, each GLYPH_HEIGHT rows of GLYPH_WIDTH
 * booleans. Built and checked once at load so a typo in the table above fails
 * loudly instead of drawing garbage.
 */
const GLYPHS: ReadonlyMap<string, readonly (readonly boolean[])[]> = (() => {
  const map = new Map<string, boolean[][]>();
  for (const [ch, rows] of GLYPH_ROWS) {
    if (map.has(ch)) throw new Error(`bitmap-font: duplicate glyph ${JSON.stringify(ch)}`);
    if (rows.length < 7 || rows.length > GLYPH_HEIGHT) {
      throw new Error(`bitmap-font: glyph ${JSON.stringify(ch)} has ${rows.length} rows`);
    }
    const bitmap: boolean[][] = [];
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      const row = rows[r] ?? '.'.repeat(GLYPH_WIDTH);
      if (!/^[.#]+$/.test(row) || row.length !== GLYPH_WIDTH) {
        throw new Error(`bitmap-font: glyph ${JSON.stringify(ch)} row ${r} is malformed: ${JSON.stringify(row)}`);
      }
      bitmap.push([...row].map((c) => c === '#'));
    }
    map.set(ch, bitmap);
  }
  for (let code = 32; code <= 126; code++) {
    if (!map.has(String.fromCharCode(code))) throw new Error(`bitmap-font: missing glyph for code ${code}`);
  }
  return map;
})();

const FALLBACK = GLYPHS.get('?') as readonly (readonly boolean[])[];

/** The glyph drawn for `ch` (a single code point); unknown characters map to '?'. */
function glyphFor(ch: string): readonly (readonly boolean[])[] {
  return GLYPHS.get(ch) ?? FALLBACK;
}

/** True when `ch` has its own glyph (i.e. is printable ASCII). */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch);
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`text scale must be a positive integer, got ${scale}`);
}

/**
 * Size in pixels of `text` drawn on one line at integer `scale`. Counts code
 * points (not UTF-16 units) so a non-ASCII character occupies one '?' cell, as
 * drawText renders it. No trailing gap after the last glyph.
 */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  checkScale(scale);
  const n = [...text].length;
  return { width: n === 0 ? 0 : (n * GLYPH_ADVANCE - (GLYPH_ADVANCE - GLYPH_WIDTH)) * scale, height: GLYPH_HEIGHT * scale };
}

/**
 * Draws `text` into an RGBA8 buffer with its top-left corner at (x, y); each
 * font pixel becomes a scale x scale block. Pixels outside the buffer are
 * clipped. Ink overwrites the destination (no blending) so captions stay crisp.
 * Returns the drawn width, as measureText reports it.
 */
export function drawText(
  rgba: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  color: Color,
  scale = 1,
): number {
  checkScale(scale);
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`drawText: buffer holds ${rgba.length} bytes, expected ${width}x${height}x4`);
  }
  const [r, g, b] = color;
  const a = color[3] ?? 255;
  x = Math.round(x);
  y = Math.round(y);
  let penX = x;
  for (const ch of text) {
    const glyph = glyphFor(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      const row = glyph[gy] as readonly boolean[];
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!row[gx]) continue;
        for (let sy = 0; sy < scale; sy++) {
          const py = y + gy * scale + sy;
          if (py < 0 || py >= height) continue;
          for (let sx = 0; sx < scale; sx++) {
            const px = penX + gx * scale + sx;
            if (px < 0 || px >= width) continue;
            const o = (py * width + px) * 4;
            rgba[o] = r;
            rgba[o + 1] = g;
            rgba[o + 2] = b;
            rgba[o + 3] = a;
          }
        }
      }
    }
    penX += GLYPH_ADVANCE * scale;
  }
  return measureText(text, scale).width;
}

/**
 * The longest prefix of `text` that fits in `maxWidth` pixels, with '..'
 * appended when anything was cut (our font has no ellipsis glyph). Returns ''
 * when not even '..' fits. Works on code points so surrogate pairs never split.
 */
export function truncateToWidth(text: string, maxWidth: number, scale = 1): string {
  if (measureText(text, scale).width <= maxWidth) return text;
  const chars = [...text];
  for (let keep = chars.length - 1; keep >= 0; keep--) {
    // Drop trailing spaces before the marker so 'golden ..' reads as 'golden..'.
    const candidate = chars.slice(0, keep).join('').trimEnd() + '..';
    if (measureText(candidate, scale).width <= maxWidth) return candidate;
  }
  return '';
}
