//! The few JSON strings the shim emits, written by hand (escaping included) so the steady-state
//! loop allocates little and touches no serializer code.

/// Appends `text` as a JSON string literal (quotes included). Invalid UTF-8 becomes U+FFFD,
/// as Docker's json-file driver does.
pub fn push_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(out, c);
        }
        if !chunk.invalid().is_empty() {
            push_char(out, char::REPLACEMENT_CHARACTER);
        }
    }
    out.push(b'"');
}

fn push_char(out: &mut Vec<u8>, c: char) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if (c as u32) < 0x20 => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let n = c as usize;
            out.extend_from_slice(b"\\u00");
            out.push(HEX[n >> 4]);
            out.push(HEX[n & 0xf]);
        }
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

/// `null` or the number.
pub fn push_opt_int(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_str(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_serde() {
        for s in [
            "plain",
            "quote\" back\\slash",
            "nl\ncr\rtab\t",
            "\u{1}\u{1f}",
            "é✓",
        ] {
            let ours = escaped(s.as_bytes());
            let back: String = serde_json::from_str(&ours).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn replaces_invalid_utf8() {
        let back: String = serde_json::from_str(&escaped(b"a\xffb")).unwrap();
        assert_eq!(back, "a\u{fffd}b");
    }
}
