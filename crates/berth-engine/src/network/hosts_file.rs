//! A running container's `/etc/hosts` follows `network connect`/`disconnect`, as Docker's
//! sandbox does (`updateHostsFile`, `deleteHostsEntries`): connect appends `IP\thostname`
//! for the new endpoint, disconnect removes that line again. The file is bind-mounted into
//! the container, so it is rewritten in place (a rename would leave the container the old
//! inode).

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use super::NetError;

/// The names Docker writes after the address: `host.domain host` or just `host`.
pub fn entry_names(hostname: &str, domainname: Option<&str>) -> String {
    match domainname.filter(|d| !d.is_empty()) {
        Some(domain) => format!("{hostname}.{domain} {hostname}"),
        None => hostname.to_string(),
    }
}

fn read(path: &Path) -> Result<String, NetError> {
    std::fs::read_to_string(path).map_err(|source| NetError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write_in_place(path: &Path, text: &str) -> Result<(), NetError> {
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()
    };
    write().map_err(|source| NetError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `line` is the record `address\tnames` (any whitespace between the fields).
fn is_record(line: &str, address: IpAddr, names: &str) -> bool {
    let mut fields = line.split_whitespace();
    fields.next().and_then(|f| f.parse::<IpAddr>().ok()) == Some(address)
        && fields.eq(names.split_whitespace())
}

/// Adds `address\tnames` unless that record is there already.
pub fn add(path: &Path, address: IpAddr, names: &str) -> Result<(), NetError> {
    let mut text = read(path)?;
    if text.lines().any(|l| is_record(l, address, names)) {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{address}\t{names}\n"));
    write_in_place(path, &text)
}

/// Removes every `address\tnames` record (other lines, e.g. `--add-host` ones, stay).
pub fn remove(path: &Path, address: IpAddr, names: &str) -> Result<(), NetError> {
    let text = read(path)?;
    let kept: String = text
        .lines()
        .filter(|l| !is_record(l, address, names))
        .map(|l| format!("{l}\n"))
        .collect();
    if kept == text {
        return Ok(());
    }
    write_in_place(path, &kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_adds_and_disconnect_removes_the_hostname_record_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        let base = "127.0.0.1\tlocalhost\n10.1.0.9\tweb\n172.17.0.2\tabc123\n";
        std::fs::write(&path, base).unwrap();
        let inode = |p: &Path| std::os::linux::fs::MetadataExt::st_ino(&p.metadata().unwrap());
        let before = inode(&path);
        let names = entry_names("abc123", None);
        let ip: IpAddr = "10.99.0.5".parse().unwrap();
        add(&path, ip, &names).unwrap();
        add(&path, ip, &names).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{base}10.99.0.5\tabc123\n"));
        remove(&path, ip, &names).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), base);
        // The --add-host line with another name survives removing 172.17.0.2's record.
        remove(&path, "10.1.0.9".parse().unwrap(), &names).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), base);
        assert_eq!(inode(&path), before, "rewritten in place");
        assert_eq!(entry_names("h", Some("example.org")), "h.example.org h");
    }
}
