//! `pull -a` (every tag of a repository) from Debian's docker-registry, with the docker CLI
//! and with `berth`.

mod common;
mod ctr4_registry;

use common::Daemon;
use ctr4_registry::{DockerRegistry, berth};

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tags(d: &Daemon, repo: &str) -> Vec<String> {
    let mut tags: Vec<String> = d
        .ok(&["images", "--format", "{{.Tag}}", repo])
        .lines()
        .map(str::to_owned)
        .collect();
    tags.sort();
    tags
}

#[test]
fn pull_all_tags_fetches_every_tag_of_the_repository() {
    let d = Daemon::start();
    let registry = DockerRegistry::start();
    let repo = format!("{}/ctr4/bb", registry.addr);
    for tag in ["one", "two", "three"] {
        let name = format!("{repo}:{tag}");
        d.ok(&["tag", "busybox", &name]);
        d.ok(&["push", &name]);
        d.ok(&["rmi", &name]);
    }
    assert!(tags(&d, &repo).is_empty());

    let out = d.ok(&["pull", "-a", &repo]);
    for tag in ["one", "two", "three"] {
        assert!(
            out.contains(&format!("{tag}: Pulling from ctr4/bb")),
            "{out}"
        );
    }
    assert_eq!(out.matches("Digest: sha256:").count(), 3, "{out}");
    assert_eq!(out.matches("Status: ").count(), 1, "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}\n")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some(repo.as_str()), "{out}");
    assert_eq!(tags(&d, &repo), ["one", "three", "two"]);
    let busybox = d.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Id}}", &format!("{repo}:two")]),
        busybox
    );

    let again = d.ok(&["pull", "-a", &repo]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {repo}\n")),
        "{again}"
    );

    // The berth CLI sends the same request and prints as docker does.
    d.ok(&["rmi", &format!("{repo}:one")]);
    let ours = berth(&d, &["pull", "-a", &repo]);
    assert!(ours.status.success(), "{}", text(&ours));
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(ours.contains("one: Pulling from ctr4/bb"), "{ours}");
    assert!(
        ours.contains(&format!("Status: Downloaded newer image for {repo}")),
        "{ours}"
    );
    assert_eq!(ours.lines().last(), Some(repo.as_str()), "{ours}");
    assert_eq!(tags(&d, &repo), ["one", "three", "two"]);

    // A tag with -a is refused by the CLI; an unknown repository by the daemon.
    let tagged = berth(&d, &["pull", "-a", &format!("{repo}:one")]);
    assert!(!tagged.status.success());
    assert!(
        text(&tagged).contains("tag can't be used with --all-tags/-a"),
        "{}",
        text(&tagged)
    );
    let missing = d.docker(&["pull", "-a", &format!("{}/ctr4/none", registry.addr)]);
    assert!(!missing.status.success());
    let err = text(&missing);
    assert!(
        err.contains("NAME_UNKNOWN") || err.contains("name unknown") || err.contains("not found"),
        "{err}"
    );
    // Nothing half-pulled under that name.
    assert!(tags(&d, &format!("{}/ctr4/none", registry.addr)).is_empty());
}
