// The village map: a Mercator projection (d3-geo) fitted to the boundary, and the colour of a
// household by the days since its last visit. Everything is drawn from the store; no tiles.
import { geoArea, geoMercator, geoPath, type GeoProjection } from 'd3-geo';

/** How recently a household was visited, for its colour and the legend. */
export type Recency = 'recent' | 'month' | 'overdue' | 'never';

export function recency(days: number | null): Recency {
  if (days === null) return 'never';
  if (days <= 7) return 'recent';
  if (days <= 30) return 'month';
  return 'overdue';
}

/** Colours readable in the sun and apart for the colour-blind (blue, teal, orange, red). */
export const RECENCY_COLOUR: Record<Recency, string> = {
  recent: '#0b4fa8',
  month: '#2a9d8f',
  overdue: '#e07000',
  never: '#c0002a',
};

/** A GeoJSON polygon of a `[lon, lat]` ring, wound as d3-geo wants it. d3-geo works on the
 * sphere, where a ring encloses the side on its right: a ring wound the GeoJSON (RFC 7946) way
 * would enclose the whole globe but the village. Whichever way the store's ring runs, the
 * smaller side is the village. */
export function polygon(ring: [number, number][]): GeoJSON.Feature<GeoJSON.Polygon> {
  const feature = (r: [number, number][]): GeoJSON.Feature<GeoJSON.Polygon> =>
    ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [r] } });
  const f = feature(ring);
  return geoArea(f) > 2 * Math.PI ? feature([...ring].reverse()) : f;
}

/** A projection fitting the ring into `width` × `height` with `pad` pixels around. */
export function fit(ring: [number, number][], width: number, height: number, pad = 24): GeoProjection {
  return geoMercator().fitExtent([[pad, pad], [width - pad, height - pad]], polygon(ring));
}

/** Metres per degree of latitude (and of longitude at the equator). */
const METRES_PER_DEGREE = 111_320;

/**
 * A projection fitting a square of `radius` metres around `centre` (`[lon, lat]`) into `width` ×
 * `height`: a visit's map, where the house and the fix are metres apart and the whole village
 * would draw them as one dot.
 */
export function fitAround(centre: [number, number], radius: number, width: number, height: number, pad = 24): GeoProjection {
  const [lon, lat] = centre;
  const dLat = radius / METRES_PER_DEGREE;
  const dLon = radius / (METRES_PER_DEGREE * Math.cos((lat * Math.PI) / 180));
  const box: GeoJSON.Feature<GeoJSON.MultiPoint> = {
    type: 'Feature', properties: {},
    geometry: { type: 'MultiPoint', coordinates: [[lon - dLon, lat - dLat], [lon + dLon, lat + dLat]] },
  };
  return geoMercator().fitExtent([[pad, pad], [width - pad, height - pad]], box);
}

/** The SVG path of the ring under a projection. */
export function outline(ring: [number, number][], projection: GeoProjection): string {
  return geoPath(projection)(polygon(ring)) ?? '';
}
