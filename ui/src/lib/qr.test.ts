import { describe, expect, it } from 'vitest';
import qrcode from 'qrcode-generator';
import { decodePixels, parseEnrollment } from './qr';

/** A QR code of `text` drawn as RGBA pixels, `cell` pixels a module, with a quiet zone. */
function draw(text: string, cell = 4, margin = 4): { data: Uint8ClampedArray; size: number } {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const size = (n + 2 * margin) * cell;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.floor(y / cell) - margin;
      const c = Math.floor(x / cell) - margin;
      if (r >= 0 && c >= 0 && r < n && c < n && qr.isDark(r, c)) {
        const i = (y * size + x) * 4;
        data[i] = data[i + 1] = data[i + 2] = 0;
      }
    }
  }
  return { data, size };
}

describe('enrollment from a QR image', () => {
  it('decodes a QR code drawn as pixels', () => {
    const { data, size } = draw('K94K-UFT2-8FR8');
    expect(decodePixels(data, size, size)).toBe('K94K-UFT2-8FR8');
  });

  it('reads a link that carries the server address too', () => {
    const { data, size } = draw('beibao:enroll?server=http%3A%2F%2F10.0.0.2%3A8440&code=K94K-UFT2-8FR8');
    const text = decodePixels(data, size, size);
    expect(parseEnrollment(text!)).toEqual({ code: 'K94K-UFT2-8FR8', server: 'http://10.0.0.2:8440', pin: null });
  });

  it('finds nothing in an image without a code', () => {
    const blank = new Uint8ClampedArray(64 * 64 * 4).fill(255);
    expect(decodePixels(blank, 64, 64)).toBeNull();
  });

  it('refuses text that is not an enrollment', () => {
    expect(parseEnrollment('https://example.com/phish')).toBeNull();
    expect(parseEnrollment('beibao:enroll?code=K94K&server=javascript:alert(1)')).toBeNull();
    expect(parseEnrollment('beibao:enroll?server=http://a.b')).toBeNull();
    expect(parseEnrollment(' 1234 5678 ')).toEqual({ code: '1234 5678', server: null, pin: null });
    // An https server's certificate fingerprint travels with the code; anything else is refused.
    const pin = 'ab'.repeat(32);
    expect(parseEnrollment(`beibao:enroll?server=https%3A%2F%2Fsync.sd.gov&code=K94K-UFT2&pin=${pin.toUpperCase()}`)).toEqual({
      code: 'K94K-UFT2',
      server: 'https://sync.sd.gov',
      pin,
    });
    expect(parseEnrollment('beibao:enroll?server=https%3A%2F%2Fa.b&code=K94K-UFT2&pin=abc')).toBeNull();
  });
});
