/**
 * Line plots drawn pixel by pixel into a PNG (pngjs, pure JS): no browser, no native renderer,
 * no fonts on the machine needed.
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { glyph, GLYPH_WIDTH } from './font.js';

type Rgb = readonly [number, number, number];

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly Series[];
}

const PALETTE: readonly Rgb[] = [
  [214, 39, 40],
  [31, 119, 180],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];

class Canvas {
  readonly png: PNG;
  constructor(readonly width: number, readonly height: number) {
    this.png = new PNG({ width, height });
    this.png.data.fill(255);
  }
  set(x: number, y: number, [r, g, b]: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const i = (yi * this.width + xi) * 4;
    this.png.data[i] = r;
    this.png.data[i + 1] = g;
    this.png.data[i + 2] = b;
    this.png.data[i + 3] = 255;
  }
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const half = (thickness - 1) / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -half; dx <= half; dx++) for (let dy = -half; dy <= half; dy++) this.set(x + dx, y + dy, color);
    }
  }
  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let i = 0; i < w; i++) for (let j = 0; j < h; j++) this.set(x + i, y + j, color);
  }
  text(x: number, y: number, value: string, color: Rgb = INK, scale = 2, align: 'left' | 'center' | 'right' = 'left'): void {
    const advance = (GLYPH_WIDTH + 1) * scale;
    const width = value.length * advance - scale;
    const start = align === 'left' ? x : align === 'center' ? x - width / 2 : x - width;
    [...value].forEach((char, index) => {
      for (const [gx, gy] of glyph(char)) this.rect(start + index * advance + gx * scale, y + gy * scale, scale, scale, color);
    });
  }
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function keysLabel(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}K`;
  return String(value);
}

function drawPanel(canvas: Canvas, panel: Panel, left: number, top: number, width: number, height: number): void {
  const plotLeft = left + 70;
  const plotTop = top + 40;
  const plotWidth = width - 90;
  const plotHeight = height - 100;
  canvas.text(left + width / 2, top + 8, panel.title, INK, 2, 'center');
  const xs = panel.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const xMin = Math.log10(Math.min(...xs));
  const xMax = Math.log10(Math.max(...xs));
  const yMax = niceMax(Math.max(...ys, 0) * 1.05);
  const px = (x: number): number => plotLeft + (xMax === xMin ? plotWidth / 2 : ((Math.log10(x) - xMin) / (xMax - xMin)) * plotWidth);
  const py = (y: number): number => plotTop + plotHeight - (y / yMax) * plotHeight;

  for (let i = 0; i <= 5; i++) {
    const value = (yMax * i) / 5;
    canvas.line(plotLeft, py(value), plotLeft + plotWidth, py(value), GRID);
    canvas.text(plotLeft - 8, py(value) - 7, String(Number(value.toPrecision(3))), INK, 2, 'right');
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    canvas.line(px(x), plotTop, px(x), plotTop + plotHeight, GRID);
    canvas.text(px(x), plotTop + plotHeight + 8, keysLabel(x), INK, 2, 'center');
  }
  canvas.line(plotLeft, plotTop, plotLeft, plotTop + plotHeight, INK, 2);
  canvas.line(plotLeft, plotTop + plotHeight, plotLeft + plotWidth, plotTop + plotHeight, INK, 2);
  canvas.text(plotLeft + plotWidth / 2, plotTop + plotHeight + 30, panel.xLabel, INK, 2, 'center');

  panel.series.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length] as Rgb;
    const points = series.points.filter(([, y]) => Number.isFinite(y));
    for (let i = 1; i < points.length; i++) {
      const [x0, y0] = points[i - 1] as readonly [number, number];
      const [x1, y1] = points[i] as readonly [number, number];
      canvas.line(px(x0), py(y0), px(x1), py(y1), color, 3);
    }
    for (const [x, y] of points) canvas.rect(px(x) - 4, py(y) - 4, 9, 9, color);
  });
}

/** Writes panels side by side with one shared legend (series matched by name and order). */
export function writePlot(file: string, title: string, panels: readonly Panel[]): void {
  const panelWidth = 560;
  const panelHeight = 440;
  const legendHeight = 40;
  const canvas = new Canvas(panelWidth * panels.length, panelHeight + legendHeight + 36);
  canvas.text((panelWidth * panels.length) / 2, 10, title, INK, 2, 'center');
  panels.forEach((panel, index) => drawPanel(canvas, panel, index * panelWidth, 36, panelWidth, panelHeight));
  const names = panels[0]?.series.map((s) => s.name) ?? [];
  let x = 20;
  const y = 36 + panelHeight + 8;
  names.forEach((name, index) => {
    const color = PALETTE[index % PALETTE.length] as Rgb;
    canvas.rect(x, y + 2, 24, 10, color);
    canvas.text(x + 32, y, name, INK, 2);
    x += 32 + name.length * 12 + 30;
  });
  writeFileSync(file, PNG.sync.write(canvas.png));
}
