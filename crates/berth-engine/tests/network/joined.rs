//! `--network container:<name|id>`: the joiner runs in the owner's namespace (same
//! interfaces, `localhost` shared), sees the owner's addresses and resolver, keeps working
//! when the owner's setup is torn down first, and leaves nothing behind.

use std::os::unix::fs::MetadataExt;

use berth_engine::network::NetError;

use super::fixtures::*;

/// The namespace's identity (the nsfs inode) behind a namespace file.
fn namespace_inode(path: &std::path::Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

#[test]
fn a_container_joins_a_running_containers_namespace() {
    let net = TestNet::new();
    let (subnet, _) = unique_subnet();
    let network = net.create(&unique("joined"), &subnet, false);
    let owner = Spec::new(&network.name);
    let owner_att = net.service.attach(&owner.request()).expect("attach owner");
    let owner_ns = owner_att.netns_path.clone().expect("owner netns");
    let _web = Httpd::start(&owner_ns, 8080, "owner's page");

    // By name, by ID and by ID prefix, with or without Docker's leading slash.
    let refs = [
        owner.name.clone(),
        format!("/{}", owner.name),
        owner.id.clone(),
        owner.id[..10].to_string(),
    ];
    for reference in &refs {
        let joiner = Spec::new(&format!("container:{reference}"));
        let att = net
            .service
            .attach(&joiner.request())
            .expect("attach joiner");
        let own = att.netns_path.clone().expect("joiner netns");
        assert_eq!(own, net.service.netns_path_for(&joiner.id), "{reference}");
        assert_eq!(namespace_inode(&own), namespace_inode(&owner_ns));
        // The owner's files: its address under its hostname, the embedded resolver.
        assert_eq!(att.hosts, owner_att.hosts);
        assert_eq!(att.resolv_conf, owner_att.resolv_conf);
        // The owner's localhost is the joiner's, and the joiner resolves like the owner.
        let page = run_as(
            &att,
            &[
                "/bin/busybox",
                "wget",
                "-q",
                "-O",
                "-",
                "http://127.0.0.1:8080/",
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&page.stdout),
            "owner's page",
            "{}",
            text(&page)
        );
        let lookup = run_as(&att, &["/bin/busybox", "nslookup", &owner.name]);
        let owner_ip = owner_att
            .hosts
            .lines()
            .find(|l| l.ends_with(&owner.id[..12]))
            .and_then(|l| l.split('\t').next())
            .expect("owner's address in its hosts")
            .to_string();
        assert!(
            String::from_utf8_lossy(&lookup.stdout).contains(&owner_ip),
            "{}",
            text(&lookup)
        );
        assert!(net.service.settings(&joiner.id).is_some());
        net.service.detach(&joiner.id).expect("detach joiner");
        assert!(!own.exists(), "joiner's namespace file left");
        assert!(
            owner_ns.exists(),
            "the owner's namespace went with the joiner's"
        );
    }

    // The owner's setup torn down first: the joiner still holds the namespace.
    let joiner = Spec::new(&format!("container:{}", owner.name));
    let att = net
        .service
        .attach(&joiner.request())
        .expect("attach joiner");
    let own = att.netns_path.clone().unwrap();
    let inode = namespace_inode(&owner_ns);
    net.service.detach(&owner.id).expect("detach owner");
    assert_eq!(namespace_inode(&own), inode);
    net.service.detach(&joiner.id).expect("detach joiner");
    assert!(!own.exists());
    net.service.remove(&network.name).expect("remove network");
}

#[test]
fn joining_is_refused_for_stopped_self_and_owner_options() {
    let net = TestNet::new();
    let missing = Spec::new("container:net6-nobody-runs-this");
    let error = net.service.attach(&missing.request()).unwrap_err();
    assert!(
        matches!(error, NetError::JoinedNotRunning { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "cannot join network of a non running container: net6-nobody-runs-this"
    );
    assert!(!net.service.netns_path_for(&missing.id).exists());

    let owner = Spec::new("none");
    net.service.attach(&owner.request()).expect("attach owner");
    let mut with_dns = Spec::new(&format!("container:{}", owner.name));
    with_dns.host.dns = Some(vec!["10.0.0.53".to_string()]);
    let error = net.service.attach(&with_dns.request()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "conflicting options: dns and the network mode"
    );
    assert!(!net.service.netns_path_for(&with_dns.id).exists());
    net.service.detach(&owner.id).expect("detach owner");
}
