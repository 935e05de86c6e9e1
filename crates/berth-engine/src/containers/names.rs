//! Container IDs and names: 64 random hex digits; names as Docker validates them, and
//! Docker-style generated names (`adjective_surname`) when none is given.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    Invalid(String),
}

impl crate::error::HasKind for NameError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::InvalidArgument
    }
}

/// A new random container ID.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    loop {
        if getrandom::fill(&mut bytes).is_err() {
            // No entropy source is unthinkable on Linux; fall back to time and pid rather than fail.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                ^ u128::from(std::process::id());
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (seed >> ((i % 16) * 8)) as u8 ^ i as u8;
            }
        }
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Docker avoids all-numeric short IDs (they look like numbers to humans and parsers).
        if !id[..12].bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
    }
}

/// Validates a user-given name (an optional leading `/` is dropped, as Docker does).
pub fn validate(name: &str) -> Result<String, NameError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = bare.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(bare.to_string())
    } else {
        Err(NameError::Invalid(name.to_string()))
    }
}

const ADJECTIVES: &[&str] = &[
    "admiring",
    "agitated",
    "amazing",
    "bold",
    "brave",
    "busy",
    "clever",
    "cool",
    "dazzling",
    "eager",
    "ecstatic",
    "elegant",
    "epic",
    "fervent",
    "festive",
    "focused",
    "friendly",
    "gallant",
    "gifted",
    "happy",
    "hopeful",
    "jolly",
    "keen",
    "kind",
    "laughing",
    "lucid",
    "magical",
    "modest",
    "nifty",
    "nostalgic",
    "objective",
    "optimistic",
    "peaceful",
    "pensive",
    "practical",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "silly",
    "stoic",
    "sweet",
    "tender",
    "trusting",
    "upbeat",
    "vibrant",
    "vigilant",
    "wizardly",
    "youthful",
    "zealous",
];

const SURNAMES: &[&str] = &[
    "albattani",
    "babbage",
    "bardeen",
    "bell",
    "bohr",
    "cerf",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "fermat",
    "feynman",
    "galileo",
    "gauss",
    "goldwasser",
    "hamilton",
    "hopper",
    "hypatia",
    "kepler",
    "knuth",
    "lamarr",
    "lamport",
    "liskov",
    "lovelace",
    "mccarthy",
    "meitner",
    "morse",
    "newton",
    "noether",
    "pascal",
    "pike",
    "ritchie",
    "shannon",
    "sinoussi",
    "stallman",
    "swartz",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "wozniak",
    "yalow",
];

/// A generated `adjective_surname` name; `taken` says whether one is in use.
pub fn generate(taken: impl Fn(&str) -> bool) -> String {
    let mut seed = [0u8; 8];
    let _ = getrandom::fill(&mut seed);
    let mut n = u64::from_le_bytes(seed);
    for attempt in 0..100u32 {
        let a = ADJECTIVES[(n % ADJECTIVES.len() as u64) as usize];
        let s = SURNAMES[((n >> 16) % SURNAMES.len() as u64) as usize];
        let name = if attempt < 10 {
            format!("{a}_{s}")
        } else {
            format!("{a}_{s}{}", n % 10)
        };
        if !taken(&name) {
            return name;
        }
        n = n
            .rotate_left(13)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(1);
    }
    new_id()[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn validates_names_like_docker() {
        assert_eq!(validate("/web-1.a_b"), Ok("web-1.a_b".to_string()));
        for bad in ["", "/", "-x", "a b", "a/b", "ä"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_names_avoid_taken_ones() {
        let first = generate(|_| false);
        let second = generate(|n| n == first);
        assert_ne!(first, second);
        assert!(first.contains('_'));
    }
}
