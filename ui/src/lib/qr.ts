// Reading an enrollment code from a QR image the officer chooses (a photo or a screenshot of the
// code the administrator issued): the image's pixels decoded by jsQR, then the text read as a
// code, or as `beibao:enroll?server=…&code=…[&pin=…]` which fills the server address too, and
// for an https server the SHA-256 fingerprint of its certificate, which the tablet pins.
import jsQR from 'jsqr';

/** What a QR image told first run. */
export interface Enrollment {
  code: string;
  server: string | null;
  /** The server certificate's SHA-256 (64 hex digits), for an https server. */
  pin: string | null;
}

/** The QR's text as an enrollment: a bare code, or a `beibao:enroll` link; null when neither. */
export function parseEnrollment(text: string): Enrollment | null {
  const t = text.trim();
  if (t.startsWith('beibao:enroll?')) {
    const q = new URLSearchParams(t.slice('beibao:enroll?'.length));
    const code = q.get('code')?.trim() ?? '';
    const server = q.get('server')?.trim() || null;
    const pin = q.get('pin')?.trim().toLowerCase() || null;
    if (!/^[0-9A-Za-z-]{4,64}$/.test(code)) return null;
    if (server !== null && !/^https?:\/\//.test(server)) return null;
    if (pin !== null && !/^[0-9a-f]{64}$/.test(pin)) return null;
    return { code, server, pin };
  }
  return /^[0-9A-Za-z -]{4,64}$/.test(t) ? { code: t, server: null, pin: null } : null;
}

/** The text of the QR code in an RGBA image (`data` 4 bytes per pixel), or null. */
export function decodePixels(data: Uint8ClampedArray, width: number, height: number): string | null {
  return jsQR(data, width, height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
}

/** The enrollment in an image file (decoded in the page, nothing leaves the tablet), or null. */
export async function readEnrollmentImage(file: Blob): Promise<Enrollment | null> {
  const bitmap = await createImageBitmap(file);
  // Large photos are scaled down: a QR needs a few pixels per module, not 12 megapixels.
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.drawImage(bitmap, 0, 0, width, height);
  const text = decodePixels(ctx.getImageData(0, 0, width, height).data, width, height);
  return text === null ? null : parseEnrollment(text);
}
