//! User and group resolution in the image's own files, never the host's.

use std::os::unix::fs::symlink;

use bollard_stubs::models::{ContainerConfig, HostConfig};

use super::{Fixture, sh};
use crate::spec::{SpecError, user};

fn resolve(f: &Fixture, spec: &str, group_add: &[&str]) -> Result<user::ResolvedUser, SpecError> {
    let add: Vec<String> = group_add.iter().map(|s| s.to_string()).collect();
    user::resolve(&f.rootfs(), spec, &add)
}

fn ids(u: &user::ResolvedUser) -> (u32, u32, Vec<u32>) {
    (u.uid, u.gid, u.additional_gids.clone())
}

#[test]
fn names_numbers_and_groups() {
    let f = Fixture::new();
    assert_eq!(ids(&resolve(&f, "", &[]).unwrap()), (0, 0, vec![10]));
    assert_eq!(
        ids(&resolve(&f, "nobody", &[]).unwrap()),
        (65534, 65534, vec![])
    );
    assert_eq!(
        ids(&resolve(&f, "app", &[]).unwrap()),
        (1000, 1000, vec![50])
    );
    assert_eq!(resolve(&f, "app", &[]).unwrap().home, "/home/app");
    // A numeric uid named in passwd takes that entry's gid and groups.
    assert_eq!(
        ids(&resolve(&f, "1000", &[]).unwrap()),
        (1000, 1000, vec![50])
    );
    // Not in passwd: fine, gid 0, HOME /.
    let stranger = resolve(&f, "4242", &[]).unwrap();
    assert_eq!(ids(&stranger), (4242, 0, vec![]));
    assert_eq!(stranger.home, "/");
    // An explicit group replaces the gid and drops the implicit supplementary groups.
    assert_eq!(
        ids(&resolve(&f, "app:staff", &[]).unwrap()),
        (1000, 50, vec![])
    );
    assert_eq!(
        ids(&resolve(&f, "1000:4343", &[]).unwrap()),
        (1000, 4343, vec![])
    );
    assert_eq!(
        ids(&resolve(&f, "app", &["wheel", "777", "50"]).unwrap()),
        (1000, 1000, vec![50, 10, 777])
    );
}

#[test]
fn unknown_names_are_errors_like_docker() {
    let f = Fixture::new();
    let err = resolve(&f, "root:ghosts", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find group ghosts: no matching entries in group file"
    );
    assert!(matches!(
        resolve(&f, "app", &["ghosts"]),
        Err(SpecError::UnknownGroup { .. })
    ));
    assert!(matches!(
        resolve(&f, "-5", &[]),
        Err(SpecError::IdOutOfRange { .. })
    ));
}

#[test]
fn missing_passwd_allows_only_numbers() {
    let f = Fixture::new();
    std::fs::remove_file(f.rootfs().join("etc/passwd")).unwrap();
    std::fs::remove_file(f.rootfs().join("etc/group")).unwrap();
    assert_eq!(ids(&resolve(&f, "", &[]).unwrap()), (0, 0, vec![]));
    assert_eq!(ids(&resolve(&f, "12:34", &[]).unwrap()), (12, 34, vec![]));
    assert!(matches!(
        resolve(&f, "nobody", &[]),
        Err(SpecError::UnknownUser { .. })
    ));
}

/// /etc/passwd symlinks pointing "out" of the rootfs resolve inside it, as in the container.
#[test]
fn symlinks_cannot_escape_the_rootfs() {
    let f = Fixture::new();
    let outside = f.dir.path().join("passwd-outside");
    std::fs::write(&outside, "evil:x:666:666::/:/bin/sh\n").unwrap();
    std::fs::write(
        f.rootfs().join("passwd-outside"),
        "good:x:7:7::/home/good:/bin/sh\n",
    )
    .unwrap();
    let passwd = f.rootfs().join("etc/passwd");
    std::fs::remove_file(&passwd).unwrap();
    symlink("../../passwd-outside", &passwd).unwrap();
    assert!(matches!(
        resolve(&f, "evil", &[]),
        Err(SpecError::UnknownUser { .. })
    ));
    assert_eq!(resolve(&f, "good", &[]).unwrap().uid, 7);

    // An absolute link to the host's file lands on the rootfs's copy of that path.
    std::fs::remove_file(&passwd).unwrap();
    symlink(&outside, &passwd).unwrap();
    let inside = f.rootfs().join(outside.strip_prefix("/").unwrap());
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "mirror:x:9:9::/:/bin/sh\n").unwrap();
    assert!(matches!(
        resolve(&f, "evil", &[]),
        Err(SpecError::UnknownUser { .. })
    ));
    assert_eq!(resolve(&f, "mirror", &[]).unwrap().uid, 9);
}

#[test]
fn a_fifo_or_directory_passwd_is_an_error_not_a_hang() {
    let f = Fixture::new();
    let passwd = f.rootfs().join("etc/passwd");
    std::fs::remove_file(&passwd).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &passwd,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let err = resolve(&f, "root", &[]).unwrap_err();
    assert!(matches!(err, SpecError::ReadRootfsFile { .. }), "{err}");
}

#[test]
fn user_reaches_the_spec_with_home() {
    let f = Fixture::new();
    let config = ContainerConfig {
        user: Some("app".into()),
        env: Some(vec!["HOME=/custom".into()]),
        ..sh(&["id"])
    };
    let host = HostConfig {
        group_add: Some(vec!["wheel".into()]),
        ..Default::default()
    };
    let spec = f.build(&config, &host).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.user().uid(), 1000);
    assert_eq!(
        process.user().additional_gids().as_deref(),
        Some(&[1000, 50, 10][..])
    );
    let caps = process.capabilities().clone().unwrap();
    assert!(
        caps.effective().is_none() && caps.bounding().is_some(),
        "non-root: the bounding set only"
    );
    let env = process.env().clone().unwrap();
    assert!(env.contains(&"HOME=/custom".to_string()));
    assert_eq!(env.iter().filter(|e| e.starts_with("HOME=")).count(), 1);
}
