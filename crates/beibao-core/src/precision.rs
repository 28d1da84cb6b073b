//! How precisely measured numbers are kept, and so sent: a position to 10⁻⁷ degree (about a
//! centimetre), a distance or an accuracy radius to the centimetre. A phone reports coordinates
//! with fourteen decimals and a computed distance comes out with sixteen digits; no fix means more
//! than a centimetre, and the extra digits cost bytes on every sync over a slow link.

/// Decimals kept of a coordinate in degrees.
pub const DEGREE_DECIMALS: i32 = 7;

/// Decimals kept of a length in metres.
pub const METRE_DECIMALS: i32 = 2;

fn round(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// A coordinate (latitude or longitude, degrees) as kept.
pub fn degrees(x: f64) -> f64 {
    round(x, DEGREE_DECIMALS)
}

/// A length (metres) as kept.
pub fn metres(x: f64) -> f64 {
    round(x, METRE_DECIMALS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_keep_a_centimetre_and_print_short() {
        assert_eq!(degrees(34.981_234_567_890_12), 34.981_234_6);
        assert_eq!(serde_json::to_string(&degrees(117.400_000_049_999_9)).unwrap(), "117.4");
        assert_eq!(metres(19.754_435_509_045_415), 19.75);
        assert_eq!(serde_json::to_string(&metres(19.754_435_509_045_415)).unwrap(), "19.75");
        assert!(metres(f64::NAN).is_nan(), "a NaN stays a NaN (the rules refuse it)");
        assert_eq!(metres(-0.004), -0.0);
    }
}
