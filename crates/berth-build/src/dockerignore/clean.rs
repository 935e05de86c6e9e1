//! Go's `path.Clean`: the lexical normalisation Docker applies to patterns and paths.

/// Collapses `//`, removes `.` elements and resolves `..` lexically; "" becomes ".".
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(last) if *last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn cleans_like_go() {
        for (input, want) in [
            ("", "."),
            ("a/b/", "a/b"),
            ("./a//b/./c", "a/b/c"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("a/b/../../c", "c"),
            ("**/", "**"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }
}
