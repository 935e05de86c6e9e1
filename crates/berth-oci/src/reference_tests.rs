//! Cases adapted from Docker's `reference/normalize_test.go` and `reference_test.go`, plus a
//! deterministic fuzz loop: parsing never panics and printing round-trips.

use super::*;

#[test]
fn normalises_like_docker() {
    let sha = format!("sha256:{}", "a".repeat(64));
    let cases: Vec<(String, String, String)> = vec![
        (
            "busybox".into(),
            "docker.io/library/busybox:latest".into(),
            "busybox:latest".into(),
        ),
        (
            "busybox:1.35".into(),
            "docker.io/library/busybox:1.35".into(),
            "busybox:1.35".into(),
        ),
        (
            "library/busybox".into(),
            "docker.io/library/busybox:latest".into(),
            "busybox:latest".into(),
        ),
        (
            "docker.io/busybox".into(),
            "docker.io/library/busybox:latest".into(),
            "busybox:latest".into(),
        ),
        (
            "index.docker.io/busybox".into(),
            "docker.io/library/busybox:latest".into(),
            "busybox:latest".into(),
        ),
        (
            "user/app".into(),
            "docker.io/user/app:latest".into(),
            "user/app:latest".into(),
        ),
        (
            "docker.io/user/app:v1".into(),
            "docker.io/user/app:v1".into(),
            "user/app:v1".into(),
        ),
        (
            "localhost/x".into(),
            "localhost/x:latest".into(),
            "localhost/x:latest".into(),
        ),
        (
            "localhost:5000/x".into(),
            "localhost:5000/x:latest".into(),
            "localhost:5000/x:latest".into(),
        ),
        (
            "localhost:5000/x:5000".into(),
            "localhost:5000/x:5000".into(),
            "localhost:5000/x:5000".into(),
        ),
        (
            "quay.io/a/b/c:t".into(),
            "quay.io/a/b/c:t".into(),
            "quay.io/a/b/c:t".into(),
        ),
        (
            "127.0.0.1:5000/a".into(),
            "127.0.0.1:5000/a:latest".into(),
            "127.0.0.1:5000/a:latest".into(),
        ),
        (
            "[::1]:5000/a".into(),
            "[::1]:5000/a:latest".into(),
            "[::1]:5000/a:latest".into(),
        ),
        (
            "user/a__b.c-d---e".into(),
            "docker.io/user/a__b.c-d---e:latest".into(),
            "user/a__b.c-d---e:latest".into(),
        ),
        (
            format!("busybox@{sha}"),
            format!("docker.io/library/busybox@{sha}"),
            format!("busybox@{sha}"),
        ),
        (
            format!("busybox:1@{sha}"),
            format!("docker.io/library/busybox:1@{sha}"),
            format!("busybox:1@{sha}"),
        ),
        (
            "fixtures/busybox:1.35".into(),
            "docker.io/fixtures/busybox:1.35".into(),
            "fixtures/busybox:1.35".into(),
        ),
    ];
    for (input, full, familiar) in cases {
        let r = Reference::parse_normalized(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), full, "input {input}");
        assert_eq!(r.familiar_string(), familiar, "input {input}");
        assert_eq!(
            r.to_string().parse::<Reference>().unwrap(),
            r,
            "round trip {input}"
        );
    }
}

#[test]
fn rejects_invalid_references() {
    let long_tag = format!("a:{}", "t".repeat(129));
    let long_name = format!("a/{}", "b".repeat(255));
    let cases = [
        "",
        ":",
        "Busybox",
        "user/App",
        "a//b",
        "a/",
        "/a",
        "-a",
        "a-",
        "a..b",
        "a:-tag",
        "a:ta g",
        "a@sha256:abc",
        "a@md5:abcd",
        &long_tag,
        &long_name,
        "localhost:port/a",
        "exa_mple.com/a",
        "[::1/a",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ];
    for input in cases {
        assert!(
            Reference::parse_normalized(input).is_err(),
            "{input:?} should be rejected"
        );
    }
}

#[test]
fn specific_errors_name_the_problem() {
    assert!(matches!(
        Reference::parse_normalized("Busybox"),
        Err(ReferenceError::Uppercase { .. })
    ));
    assert!(matches!(
        Reference::parse_normalized("a:-x"),
        Err(ReferenceError::BadTag { .. })
    ));
    assert!(matches!(
        Reference::parse_normalized("a@sha256:zz"),
        Err(ReferenceError::BadDigest { .. })
    ));
}

#[test]
fn name_only_keeps_no_tag() {
    let r = Reference::parse_name_only("busybox").unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.to_string(), "docker.io/library/busybox");
    assert_eq!(r.with_tag("x").unwrap().familiar_string(), "busybox:x");
}

/// xorshift: deterministic, dependency-free input generation.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn fuzz_never_panics_and_round_trips() {
    const ALPHABET: &[u8] = b"abcAZ09._-/:@[]sha256:efx";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let len = (rng.next() % 24) as usize;
        let input: String = (0..len)
            .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize] as char)
            .collect();
        if let Ok(r) = Reference::parse_normalized(&input) {
            accepted += 1;
            let again =
                Reference::parse_normalized(&r.to_string()).expect("printed form must parse");
            assert_eq!(again, r, "round trip of {input:?}");
            let familiar =
                Reference::parse_normalized(&r.familiar_string()).expect("familiar parses");
            assert_eq!(familiar, r, "familiar round trip of {input:?}");
        }
    }
    assert!(
        accepted > 100,
        "the generator should produce some valid references ({accepted})"
    );
}
