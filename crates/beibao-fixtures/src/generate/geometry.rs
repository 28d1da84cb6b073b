//! Convex cells: Voronoi cells made by clipping a convex area with the perpendicular bisectors
//! between its seed and every other seed. Only `+ - * /` are used, so the output is the same on
//! every IEEE-754 platform. (`geo` has no Voronoi diagram; clipping a convex area by bisectors is
//! the textbook construction and stays convex, so cells tile their area exactly.)

use geo::{Coord, LineString, Polygon};

/// Keep the part of a convex ring (open, counter-clockwise) closer to `own` than to `other`.
pub fn clip_by_bisector(ring: &[Coord<f64>], own: Coord<f64>, other: Coord<f64>) -> Vec<Coord<f64>> {
    let mid = Coord { x: (own.x + other.x) / 2.0, y: (own.y + other.y) / 2.0 };
    let dir = Coord { x: other.x - own.x, y: other.y - own.y };
    // side < 0: own's side; > 0: other's side.
    let side = |p: Coord<f64>| (p.x - mid.x) * dir.x + (p.y - mid.y) * dir.y;
    let mut out = Vec::with_capacity(ring.len() + 1);
    for i in 0..ring.len() {
        let a = ring[i];
        let b = ring[(i + 1) % ring.len()];
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa < 0.0 && sb > 0.0) || (sa > 0.0 && sb < 0.0) {
            let t = sa / (sa - sb);
            out.push(Coord { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t });
        }
    }
    out
}

/// The Voronoi cell of `seeds[index]` inside the convex `area` (open CCW ring).
pub fn voronoi_cell(area: &[Coord<f64>], seeds: &[Coord<f64>], index: usize) -> Vec<Coord<f64>> {
    let own = seeds[index];
    let mut ring = area.to_vec();
    for (j, &other) in seeds.iter().enumerate() {
        if j != index {
            ring = clip_by_bisector(&ring, own, other);
        }
    }
    ring
}

/// A polygon from an open ring.
pub fn polygon(ring: &[Coord<f64>]) -> Polygon<f64> {
    Polygon::new(LineString::from(ring.to_vec()), vec![])
}

/// The open exterior ring of a polygon.
pub fn open_ring(polygon: &Polygon<f64>) -> Vec<Coord<f64>> {
    let mut ring: Vec<Coord<f64>> = polygon.exterior().0.clone();
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    ring
}
