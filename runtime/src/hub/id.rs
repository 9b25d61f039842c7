//! [`ConnId`]: how the hub names a connection. Ids are
//! `instance << 32 | counter`: unique across the instances sharing a
//! backplane, and below 2^53 so JavaScript clients read them exactly.

/// A connection id, unique within the process and across the instances
/// sharing a backplane.
///
/// Opaque: it prints as a decimal number and serializes as a number (below
/// 2^53, so JavaScript clients read it exactly); either form parses back, for
/// clients that send an id back to address a connection:
///
/// ```
/// # fn f(conn: wirehub::Conn) {
/// let id = conn.id();
/// assert_eq!(id.to_string().parse::<wirehub::ConnId>(), Ok(id));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConnId(u64);

impl ConnId {
    /// The id with this wire form (the hub packs its instance and a counter
    /// into it; the Redis backplane carries it).
    pub(crate) const fn from_u64(raw: u64) -> Self {
        ConnId(raw)
    }

    /// The wire form.
    #[cfg(feature = "redis")]
    pub(crate) const fn to_u64(self) -> u64 {
        self.0
    }

    /// The instance of the hub that made it (the high bits).
    pub(crate) const fn instance(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for ConnId {
    type Err = std::num::ParseIntError;

    /// Parses what `Display` printed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(ConnId)
    }
}

#[cfg(test)]
mod tests {
    use super::ConnId;

    #[test]
    fn serde_round_trips_as_a_number() {
        let id = ConnId::from_u64((7 << 32) | 42);
        let json = serde_json::to_string(&id).expect("serializes");
        assert_eq!(json, "30064771114");
        assert_eq!(serde_json::from_str::<ConnId>(&json).expect("deserializes"), id);
        assert_eq!(id.instance(), 7);
        assert!(serde_json::from_str::<ConnId>("\"42\"").is_err(), "a number, not a string");
    }
}
