//! The build context as the CLI sends it: a directory tarred on the fly, or stdin (a tar, or
//! a lone Dockerfile). A Dockerfile from outside the context (`-f ../x`, `-f -`) travels
//! inside the tar under a generated name that the context's `.dockerignore` then lists, as
//! `docker build` does, so `COPY . .` never picks it up.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A Dockerfile to add to the context under `name`.
pub struct ExtraDockerfile {
    pub name: String,
    pub content: Vec<u8>,
}

impl ExtraDockerfile {
    pub fn new(content: Vec<u8>) -> ExtraDockerfile {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seed = nanos ^ (u128::from(std::process::id()) << 64);
        ExtraDockerfile {
            name: format!(".dockerfile.{:020x}", seed % 10u128.pow(24)),
            content,
        }
    }
}

/// Tars `dir` on a thread into a pipe, so the upload starts at once and nothing is buffered;
/// the `--build-context` directories follow under `.berth-contexts/<name>/`, then `extra` and
/// the `.dockerignore` naming it (later entries win when unpacked).
pub fn tar_dir(
    dir: PathBuf,
    extra: Option<ExtraDockerfile>,
    bundled: Vec<(String, PathBuf)>,
) -> anyhow::Result<Box<dyn Read>> {
    if !bundled.is_empty() && std::fs::symlink_metadata(dir.join(super::named::BUNDLED_DIR)).is_ok()
    {
        anyhow::bail!(
            "the build context holds {}, the name Berth reserves for --build-context directories",
            super::named::BUNDLED_DIR
        );
    }
    let ignore = match &extra {
        Some(extra) => {
            let mut text = match std::fs::read(dir.join(".dockerignore")) {
                Ok(text) => text,
                // One made up for the purpose hides itself too (as docker's CLI does).
                Err(e) if e.kind() == io::ErrorKind::NotFound => b".dockerignore".to_vec(),
                Err(e) => anyhow::bail!("reading {}: {e}", dir.join(".dockerignore").display()),
            };
            text.extend_from_slice(format!("\n{}\n", extra.name).as_bytes());
            Some(text)
        }
        None => None,
    };
    let (reader, writer) = io::pipe()?;
    std::thread::spawn(move || {
        let mut builder = tar::Builder::new(writer);
        builder.follow_symlinks(false);
        let mut result = builder.append_dir_all(".", &dir);
        for (name, path) in &bundled {
            if result.is_ok() {
                let inside = format!("{}/{name}", super::named::BUNDLED_DIR);
                result = builder.append_dir_all(inside, path);
            }
        }
        if let (Some(extra), Some(ignore), Ok(())) = (&extra, &ignore, &result) {
            result = append_file(&mut builder, &extra.name, &extra.content)
                .and_then(|()| append_file(&mut builder, ".dockerignore", ignore));
        }
        if let Err(e) = result.and_then(|()| builder.finish()) {
            eprintln!("sending the build context: {e}");
        }
    });
    Ok(Box::new(reader))
}

/// A context of one file, `Dockerfile` (`berth build - < Dockerfile`).
pub fn dockerfile_only(content: &[u8]) -> io::Result<Box<dyn Read>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_file(&mut builder, "Dockerfile", content)?;
    Ok(Box::new(io::Cursor::new(builder.into_inner()?)))
}

fn append_file<W: Write>(builder: &mut tar::Builder<W>, name: &str, data: &[u8]) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append_data(&mut header, name, data)
}

/// What stdin holds: an archive (tar, or compressed) or a Dockerfile. Reads the start, and
/// returns a reader that replays it.
pub enum Stdin {
    Archive(Box<dyn Read>),
    Dockerfile(Vec<u8>),
}

pub fn classify(mut input: impl Read + 'static) -> io::Result<Stdin> {
    let mut head = Vec::with_capacity(512);
    (&mut input).take(512).read_to_end(&mut head)?;
    if is_archive(&head) {
        return Ok(Stdin::Archive(Box::new(io::Cursor::new(head).chain(input))));
    }
    input.read_to_end(&mut head)?;
    Ok(Stdin::Dockerfile(head))
}

/// gzip, bzip2, xz, zstd magic, or a tar header (ustar magic at 257).
fn is_archive(head: &[u8]) -> bool {
    let magics: [&[u8]; 4] = [
        &[0x1f, 0x8b],
        b"BZh",
        &[0xfd, b'7', b'z', b'X', b'Z', 0],
        &[0x28, 0xb5, 0x2f, 0xfd],
    ];
    magics.iter().any(|m| head.starts_with(m)) || head.get(257..262).is_some_and(|m| m == b"ustar")
}

/// The Dockerfile's path relative to `dir` if it is inside, else `None`.
pub fn relative_to(dir: &Path, file: &Path) -> anyhow::Result<Option<String>> {
    let abs_dir = dir.canonicalize()?;
    let abs_file = file
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("unable to prepare context: {}: {e}", file.display()))?;
    Ok(abs_file
        .strip_prefix(&abs_dir)
        .ok()
        .map(|rel| rel.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_is_told_apart() {
        let tar = {
            let mut b = tar::Builder::new(Vec::new());
            append_file(&mut b, "Dockerfile", b"FROM scratch\n").unwrap();
            b.into_inner().unwrap()
        };
        let Stdin::Archive(mut replay) = classify(io::Cursor::new(tar.clone())).unwrap() else {
            panic!("a tar is an archive");
        };
        let mut back = Vec::new();
        replay.read_to_end(&mut back).unwrap();
        assert_eq!(back, tar);
        assert!(matches!(
            classify(io::Cursor::new(vec![0x1f, 0x8b, 8, 0])).unwrap(),
            Stdin::Archive(_)
        ));
        match classify(io::Cursor::new(b"FROM busybox\nRUN true\n".to_vec())).unwrap() {
            Stdin::Dockerfile(text) => assert_eq!(text, b"FROM busybox\nRUN true\n"),
            Stdin::Archive(_) => panic!("a Dockerfile is not an archive"),
        }
    }

    #[test]
    fn an_outside_dockerfile_is_added_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log").unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let extra = ExtraDockerfile::new(b"FROM scratch\n".to_vec());
        let name = extra.name.clone();
        let mut tar = Vec::new();
        tar_dir(dir.path().to_path_buf(), Some(extra), Vec::new())
            .unwrap()
            .read_to_end(&mut tar)
            .unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut last_ignore = String::new();
        let mut dockerfile = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            if path.ends_with(".dockerignore") {
                last_ignore.clear();
                entry.read_to_string(&mut last_ignore).unwrap();
            } else if path == name {
                entry.read_to_string(&mut dockerfile).unwrap();
            }
        }
        assert_eq!(dockerfile, "FROM scratch\n");
        assert_eq!(last_ignore, format!("*.log\n{name}\n"));

        std::fs::remove_file(dir.path().join(".dockerignore")).unwrap();
        let extra = ExtraDockerfile::new(b"FROM scratch\n".to_vec());
        let name = extra.name.clone();
        let mut tar = Vec::new();
        tar_dir(dir.path().to_path_buf(), Some(extra), Vec::new())
            .unwrap()
            .read_to_end(&mut tar)
            .unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut ignore = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().ends_with(".dockerignore") {
                entry.read_to_string(&mut ignore).unwrap();
            }
        }
        assert_eq!(ignore, format!(".dockerignore\n{name}\n"));
    }

    #[test]
    fn build_context_directories_travel_under_the_reserved_prefix() {
        let main = tempfile::tempdir().unwrap();
        let side = tempfile::tempdir().unwrap();
        std::fs::write(main.path().join("m.txt"), "m").unwrap();
        std::fs::create_dir(side.path().join("sub")).unwrap();
        std::fs::write(side.path().join("sub/s.txt"), "s").unwrap();
        let bundled = vec![("0-src".to_string(), side.path().to_path_buf())];
        let mut tar = Vec::new();
        tar_dir(main.path().to_path_buf(), None, bundled.clone())
            .unwrap()
            .read_to_end(&mut tar)
            .unwrap();
        let mut names = Vec::new();
        for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
            let entry = entry.unwrap();
            names.push(entry.path().unwrap().to_string_lossy().into_owned());
        }
        assert!(names.iter().any(|n| n == "m.txt"), "{names:?}");
        assert!(
            names.iter().any(|n| n == ".berth-contexts/0-src/sub/s.txt"),
            "{names:?}"
        );
        // A context that holds the reserved name itself is refused.
        std::fs::create_dir(main.path().join(".berth-contexts")).unwrap();
        let err = tar_dir(main.path().to_path_buf(), None, bundled)
            .err()
            .expect("refused");
        assert!(err.to_string().contains(".berth-contexts"), "{err}");
    }
}
