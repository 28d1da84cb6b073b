import { describe, expect, it } from 'vitest';
import { fit, fitAround, outline, recency } from './map';

const ring: [number, number][] = [[117.40, 34.98], [117.41, 34.98], [117.41, 34.99], [117.40, 34.99], [117.40, 34.98]];

describe('village map', () => {
  it('colours households by days since the last visit', () => {
    expect(recency(null)).toBe('never');
    expect(recency(0)).toBe('recent');
    expect(recency(7)).toBe('recent');
    expect(recency(8)).toBe('month');
    expect(recency(30)).toBe('month');
    expect(recency(31)).toBe('overdue');
  });

  it('fits the boundary into the view, north up', () => {
    const p = fit(ring, 600, 400, 20);
    const [x0, y0] = p([117.40, 34.98])!;
    const [x1, y1] = p([117.41, 34.99])!;
    for (const v of [x0, x1]) expect(v).toBeGreaterThanOrEqual(19.9), expect(v).toBeLessThanOrEqual(580.1);
    for (const v of [y0, y1]) expect(v).toBeGreaterThanOrEqual(19.9), expect(v).toBeLessThanOrEqual(380.1);
    expect(x1).toBeGreaterThan(x0);
    expect(y1).toBeLessThan(y0);
    expect(outline(ring, p)).toMatch(/^M.*Z$/);
  });

  it('draws a ring wound either way as the village, not the rest of the globe', () => {
    const reversed = [...ring].reverse();
    const a = fit(ring, 600, 400, 20);
    const b = fit(reversed, 600, 400, 20);
    expect(b([117.40, 34.98])).toEqual(a([117.40, 34.98]));
    expect(b([117.41, 34.99])).toEqual(a([117.41, 34.99]));
    // The far corner of the view is at the village's far corner, not somewhere on the globe.
    const [x, y] = b([117.41, 34.99])!;
    expect(Math.max(x, 600 - x, y, 400 - y)).toBeLessThan(600);
    expect(a.invert!([300, 200])![0]).toBeCloseTo(117.405, 2);
  });

  it('fits a visit\'s map around the house, metres apart staying apart', () => {
    const house: [number, number] = [117.405, 34.985];
    const p = fitAround(house, 150, 600, 400, 20);
    const [cx, cy] = p(house)!;
    expect(cx).toBeCloseTo(300, 0);
    expect(cy).toBeCloseTo(200, 0);
    // 150 m north is at the top of the view (the square's height fills 360 px).
    expect(p([117.405, 34.985 + 150 / 111_320])![1]).toBeCloseTo(20, 0);
    // A fix 10 m east is about 12 px away, not on top of the house.
    expect(p([117.405 + 10 / (111_320 * Math.cos((34.985 * Math.PI) / 180)), 34.985])![0] - cx).toBeCloseTo(12, 0);
  });
});
