import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { glyph } from '../src/lib/font.js';
import { writePlot } from '../src/lib/plot.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('growth plot', () => {
  it('writes a decodable PNG with the series drawn in their colours', () => {
    const file = join(dir, 'plot.png');
    const series = [
      { name: 'floor', points: [[1000, 50], [1_000_000, 700]] as const },
      { name: 'ours', points: [[1000, 60], [1_000_000, 650]] as const },
    ];
    writePlot(file, 'TEST', [
      { title: 'NS', xLabel: 'KEYS', series },
      { title: 'BYTES', xLabel: 'KEYS', series },
    ]);
    const png = PNG.sync.read(readFileSync(file));
    expect(png.width).toBe(1120);
    let red = 0;
    let blue = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      if (png.data[i] === 214 && png.data[i + 1] === 39 && png.data[i + 2] === 40) red++;
      if (png.data[i] === 31 && png.data[i + 1] === 119 && png.data[i + 2] === 180) blue++;
    }
    expect(red).toBeGreaterThan(200);
    expect(blue).toBeGreaterThan(200);
  });

  it('has a glyph for every character the report writes', () => {
    const box = glyph('\u0001');
    for (const char of 'GROWTH: 2026-11-25, NODE V20 NS PER DECISION HEAP BYTES KEYS (LOG SCALE) 1K 1M MAP BUCKET FLOOR OURS RATE-LIMITER-FLEXIBLE LIMITER 0.5') {
      expect(glyph(char)).not.toEqual(box);
    }
  });
});
