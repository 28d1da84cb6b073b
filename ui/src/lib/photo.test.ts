import { describe, expect, it } from 'vitest';
import { fitWithin } from './photo';

describe('a photo made small for the way back', () => {
  it('keeps the aspect, fits the longest side, never enlarges', () => {
    expect(fitWithin(4000, 3000)).toEqual({ width: 1600, height: 1200 });
    expect(fitWithin(3000, 4000)).toEqual({ width: 1200, height: 1600 });
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 });
    expect(fitWithin(5000, 10)).toEqual({ width: 1600, height: 3 });
  });
});
